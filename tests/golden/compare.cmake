# Runs one scenario and compares its stdout with the expected golden file.
separate_arguments(extra UNIX_COMMAND "${EXTRA}")
execute_process(COMMAND ${MAILSIM} run ${SCENARIO} ${extra}
                OUTPUT_FILE ${OUTPUT} ERROR_VARIABLE errors RESULT_VARIABLE status)
if(status EQUAL 3)
  # The run finished but the scenario's own expectations failed: say which.
  file(STRINGS ${OUTPUT} failed REGEX "NOT MET")
  string(REPLACE ";" "\n" failed "${failed}")
  message(FATAL_ERROR "mailsim run ${SCENARIO}: an expectation was not met:\n${failed}")
elseif(NOT status EQUAL 0)
  message(FATAL_ERROR "mailsim run ${SCENARIO} exited with ${status}:\n${errors}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUTPUT} ${EXPECTED}
                RESULT_VARIABLE different)
if(different)
  execute_process(COMMAND diff -u ${EXPECTED} ${OUTPUT} OUTPUT_VARIABLE delta)
  message(FATAL_ERROR "output differs from ${EXPECTED}:\n${delta}")
endif()
