# cdat_torch_target(NAME [IMPORTED]): an INTERFACE target carrying what find_package(Torch) reports —
# TORCH_LIBRARIES, TORCH_INCLUDE_DIRS (as system headers) and TORCH_CXX_FLAGS (they carry
# -D_GLIBCXX_USE_CXX11_ABI, which must match LibTorch's). The build defines `cdat_torch` with it; the
# installed cdatConfig.cmake defines `cdat::torch` (IMPORTED) with it from the *user's* LibTorch, so no
# path of the machine that built cdat is baked into the installed package.
function(cdat_torch_target name)
  cmake_parse_arguments(ARG "IMPORTED" "" "" ${ARGN})
  if(ARG_IMPORTED)
    add_library(${name} INTERFACE IMPORTED)
  else()
    add_library(${name} INTERFACE)
  endif()
  separate_arguments(torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  target_link_libraries(${name} INTERFACE ${TORCH_LIBRARIES})
  target_include_directories(${name} SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
  target_compile_options(${name} INTERFACE ${torch_flags})
endfunction()
