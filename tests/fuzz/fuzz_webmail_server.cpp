// Fuzz target: the webmail server session (models/webmail) fed whatever a browser might send,
// over a store-backed Backend: one account ("uday@ums.com"/"secret") with two INBOX messages
// and an Archive folder. Option bit 0: small HTTP limits.
// Invariants: chunking independence; bounded output; the output is a sequence of complete
// HTTP/1.1 responses that our own response parser reads without error, one per response_sent
// event (rfc9112.txt 9.2); nothing is written once the session is closed.
#include "models/message.hpp"
#include "models/store.hpp"
#include "models/webmail.hpp"
#include "tests/fuzz/fuzz_driver.hpp"

#include <memory>
#include <set>
#include <string>

using namespace mailsim;
namespace fz = mailsim::fuzz;

namespace {

const std::string message_text = fz::rav_to_uday("Date: Fri, 04 Dec 2026 04:00:00 -0500\r\n");

class Backend : public webmail::Backend {
 public:
  Backend() : store_("ums.com") {
    store::Account& account = store_.add_account("uday@ums.com", "secret");
    store_.deliver("uday@ums.com", message_text, 100);
    store_.deliver("uday@ums.com", message_text, 200);
    account.create_folder("Archive");
  }

  bool authenticate(std::string_view user, std::string_view password) override {
    store::Account* account = store_.find_account(user);
    return account && account->check_password(password);
  }

  std::pair<std::string, std::string> submit(std::string_view user,
                                             const std::vector<std::string>& to,
                                             std::string_view subject,
                                             std::string_view body) override {
    msg::Composition c;
    c.from = std::string(user);
    c.to = to;
    c.subject = std::string(subject);
    c.body = std::string(body);
    c.message_id = msg::make_message_id(std::to_string(++submitted_), "ums.com");
    std::string text = msg::build_message(c);
    return {"Q" + std::to_string(submitted_) + "." + std::to_string(text.size()), c.message_id};
  }

  std::vector<std::pair<std::string, std::pair<std::size_t, std::size_t>>> folders(
      std::string_view user) override {
    std::vector<std::pair<std::string, std::pair<std::size_t, std::size_t>>> out;
    if (store::Account* account = store_.find_account(user))
      for (const store::Folder* f : account->folders())
        out.push_back({f->name(), {f->messages().size(), f->unseen_count()}});
    return out;
  }

  std::vector<webmail::MessageSummary> list(std::string_view user,
                                            std::string_view folder) override {
    std::vector<webmail::MessageSummary> out;
    if (store::Folder* f = find(user, folder))
      for (const auto& m : f->messages())
        out.push_back({m.uid, msg::find_header(m.text, "From").value_or(""),
                       msg::find_header(m.text, "Subject").value_or(""),
                       msg::find_header(m.text, "Date").value_or(""), m.flags.count("\\Seen") > 0,
                       m.text.size()});
    return out;
  }

  std::optional<webmail::MessageView> read(std::string_view user, std::string_view folder,
                                           std::uint32_t id) override {
    store::Folder* f = find(user, folder);
    const store::StoredMessage* m = f ? f->find(id) : nullptr;
    if (!m) return std::nullopt;
    f->add_flags(id, {"\\Seen"});
    return webmail::MessageView{m->uid,
                                msg::find_header(m->text, "From").value_or(""),
                                msg::find_header(m->text, "To").value_or(""),
                                msg::find_header(m->text, "Subject").value_or(""),
                                msg::find_header(m->text, "Date").value_or(""),
                                std::string(msg::body_of(m->text)),
                                m->text.size()};
  }

  bool move(std::string_view user, std::string_view folder, std::uint32_t id,
            std::string_view to_folder) override {
    store::Folder* from = find(user, folder);
    store::Folder* to = find(user, to_folder);
    const store::StoredMessage* m = from ? from->find(id) : nullptr;
    if (!m || !to || to == from) return false;
    to->append(m->text, m->flags, m->internal_date);
    return from->remove(id);
  }

  bool update_flags(std::string_view user, std::string_view folder, std::uint32_t id,
                    const std::vector<std::string>& add,
                    const std::vector<std::string>& remove) override {
    store::Folder* f = find(user, folder);
    if (!f || !f->find(id)) return false;
    f->add_flags(id, std::set<std::string>(add.begin(), add.end()));
    f->remove_flags(id, std::set<std::string>(remove.begin(), remove.end()));
    return true;
  }

 private:
  store::Folder* find(std::string_view user, std::string_view folder) {
    store::Account* account = store_.find_account(user);
    return account ? account->folder(folder) : nullptr;
  }

  store::MailStore store_;
  int submitted_ = 0;
};

// Feeds the transcript in chunks (0: whole); `responses` counts the response_sent events.
fz::Run run(const fz::Input& in, std::size_t chunk, std::size_t& responses) {
  Backend backend;
  webmail::ServerConfig config{"mail.ums.com"};
  if (in.option(0)) config.limits = {64, 256, 512, 16};
  webmail::ServerSession session(config, backend);
  responses = 0;
  return fz::feed_session(session, in.transcript, chunk, [&](const webmail::ServerEvent& e) {
    if (e.kind == webmail::ServerEvent::Kind::response_sent) ++responses;
    return std::to_string(static_cast<int>(e.kind)) + " " + e.detail + " " + std::to_string(e.id) +
           "\n";
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::size_t sent = 0;
  auto counted = [&sent](const fz::Input& in, std::size_t chunk) { return run(in, chunk, sent); };
  // check_session checks the whole feeding's output before the chunked feeding counts again.
  fz::check_session(fz::Input(data, size), counted, [&sent](std::string_view out) {
    http::ResponseParser parser;
    parser.feed(out);
    std::size_t parsed = 0;
    while (parser.next()) ++parsed;
    FUZZ_CHECK(!parser.failed() && parser.idle(), "our own output does not parse: %s \"%s\"",
               parser.error().c_str(), fz::escaped(out).c_str());
    FUZZ_CHECK(parsed == sent, "%zu responses on the wire, %zu response_sent events", parsed, sent);
  });
  return 0;
}
