// The root of mailsim's XBT log categories. Every file of sim/ has its own
// subcategory (mailsim_tcp, mailsim_smtpd, ...), so that
// --log=mailsim_smtpd.thres:verbose shows one daemon alone, and
// --log=mailsim.thres:verbose shows them all.
#include <xbt/log.h>

XBT_LOG_NEW_CATEGORY(mailsim, "mailsim, the email network simulator");
