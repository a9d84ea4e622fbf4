#!/bin/sh
# The compiler launcher when ccache is installed (CMakeLists.txt). Every target compiles with one precompiled
# <torch/torch.h>; ccache caches such compilations only with these sloppiness settings (ccache manual,
# "Precompiled headers"): the header's __DATE__/__TIME__ and the mtimes of the header files are ignored, its
# content still hashed.
CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime${CCACHE_SLOPPINESS:+,$CCACHE_SLOPPINESS}
export CCACHE_SLOPPINESS
exec ccache "$@"
