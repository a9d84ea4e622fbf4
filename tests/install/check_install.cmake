# Installs BUILD_DIR into WORK_DIR/prefix, checks what was installed, then configures, builds and runs
# SOURCE_DIR/examples/downstream against that prefix (find_package(cdat) → cdat::cdat, linked into a shared
# library, so a libcdat.a without -fPIC fails to link). Any missing file, leaked build setting,
# configure/compile/link error or a loss that did not decrease fails the test.
set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (exit ${rc}):\n${out}${err}")
  endif()
  set(run_output "${out}${err}" PARENT_SCOPE)
endfunction()

run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# Every public header, the library and the package files.
file(GLOB headers RELATIVE ${SOURCE_DIR}/include ${SOURCE_DIR}/include/cdat/*.h)
set(cmakedir ${prefix}/${LIBDIR}/cmake/cdat)
foreach(f ${headers})
  list(APPEND expected ${prefix}/include/${f})
endforeach()
list(APPEND expected ${prefix}/${LIBDIR}/libcdat.a ${cmakedir}/cdatConfig.cmake ${cmakedir}/cdatConfigVersion.cmake
     ${cmakedir}/cdatTargets.cmake ${cmakedir}/cdatTorchTarget.cmake)
foreach(f ${expected})
  if(NOT EXISTS ${f})
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()

# The exported target carries neither our warning/sanitizer flags nor paths of this build machine.
file(GLOB target_files ${cmakedir}/cdatTargets*.cmake)
foreach(f ${target_files})
  file(READ ${f} text)
  foreach(leak -Wall -Werror -fsanitize cdat_warnings cdat_torch ${SOURCE_DIR} ${BUILD_DIR})
    string(FIND "${text}" "${leak}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "${f} leaks '${leak}' to users of the package")
    endif()
  endforeach()
endforeach()

set(build ${WORK_DIR}/build)
run("configuring examples/downstream" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/downstream -B ${build}
    -G ${GENERATOR} -DCMAKE_PREFIX_PATH=${prefix} -DTorch_DIR=${Torch_DIR} -DCMAKE_CXX_COMPILER=${CXX}
    -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER} -DCMAKE_BUILD_TYPE=${BUILD_TYPE})
file(STRINGS ${build}/CMakeCache.txt found REGEX "^cdat_DIR:")
if(NOT found STREQUAL "cdat_DIR:PATH=${cmakedir}")
  message(FATAL_ERROR "examples/downstream found cdat elsewhere than in ${prefix}: ${found}")
endif()
run("building examples/downstream" ${CMAKE_COMMAND} --build ${build})
run("running fit_least_squares" ${build}/fit_least_squares)
message(STATUS "${run_output}")
if(NOT run_output MATCHES "loss [0-9.e+-]+ → [0-9.e+-]+ in 50 steps")
  message(FATAL_ERROR "unexpected output of fit_least_squares:\n${run_output}")
endif()
