# Runs one scenario and compares its stdout with the expected golden file.
separate_arguments(extra UNIX_COMMAND "${EXTRA}")
execute_process(COMMAND ${MAILSIM} run ${SCENARIO} ${extra}
                OUTPUT_FILE ${OUTPUT} ERROR_VARIABLE errors RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "mailsim run ${SCENARIO} exited with ${status}:\n${errors}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUTPUT} ${EXPECTED}
                RESULT_VARIABLE different)
if(different)
  execute_process(COMMAND diff -u ${EXPECTED} ${OUTPUT} OUTPUT_VARIABLE delta)
  message(FATAL_ERROR "output differs from ${EXPECTED}:\n${delta}")
endif()
