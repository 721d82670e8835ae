# SPDX-License-Identifier: GPL-2.0-only
# The layering, enforced: every project include ("dir/...") in a source or header must name a layer the file's
# own layer may use. Run by the build (target check_layers, part of ALL) and by ctest; a wrong include fails
# both, naming the file, the line and the rule.
#
#   cmake -DSRC=<tree> -P cmake/check_layers.cmake
#
# Layers (docs/ARCHITECTURE.md, "Layers"): tools -> mm -> hw -> util; traces read records for tools and use only
# hw/common's vocabulary. Tests may use the layer they test and those below it.
if(NOT DEFINED SRC)
  message(FATAL_ERROR "check_layers: pass -DSRC=<source tree>")
endif()

# layer (a path prefix) -> the prefixes its files may include; the first matching layer applies.
set(rules
  "tests/util:util"
  "tests/hw:hw util tests/hw"
  "tests/traces:traces hw/common util tests/traces"
  "tests/mm:mm hw util tests/mm"
  "tests/tools:tools mm traces hw util tests/tools"
  "util:util"
  "hw:hw util"
  "traces:traces hw/common util"
  "mm:mm hw util"
  "tools:tools mm traces hw util"
  "bench:tools mm traces hw util")

file(GLOB_RECURSE files RELATIVE "${SRC}" "${SRC}/*.cc" "${SRC}/*.hh")
set(errors "")
foreach(f IN LISTS files)
  if(f MATCHES "^(build|cmake)")
    continue()
  endif()
  set(allowed "")
  set(layer "")
  foreach(rule IN LISTS rules)
    string(REPLACE ":" ";" parts "${rule}")
    list(GET parts 0 prefix)
    list(GET parts 1 uses)
    if(f MATCHES "^${prefix}/")
      set(layer "${prefix}")
      string(REPLACE " " ";" allowed "${uses}")
      break()
    endif()
  endforeach()
  if(layer STREQUAL "")
    continue()
  endif()
  # One list element per line: characters CMake lists treat specially are neutralised first.
  file(READ "${SRC}/${f}" content)
  string(REGEX REPLACE "[][;\\]" "_" content "${content}")
  string(REPLACE "\n" ";" lines "${content}")
  set(n 0)
  foreach(line IN LISTS lines)
    math(EXPR n "${n} + 1")
    if(NOT line MATCHES "^[ \t]*#[ \t]*include[ \t]*\"")
      continue()
    endif()
    string(REGEX MATCH "\"([^\"]+)\"" _ "${line}")
    set(inc "${CMAKE_MATCH_1}")
    # Only project paths are checked: a bare name or ../ is local to the file's folder.
    if(NOT inc MATCHES "^(util|hw|traces|mm|tools|tests|bench)/")
      continue()
    endif()
    set(ok FALSE)
    foreach(a IN LISTS allowed)
      if(inc MATCHES "^${a}/")
        set(ok TRUE)
      endif()
    endforeach()
    if(NOT ok)
      string(APPEND errors "${f}:${n}: includes \"${inc}\", but ${layer}/ may use only: ${allowed}\n")
    endif()
  endforeach()
endforeach()
if(NOT errors STREQUAL "")
  message(FATAL_ERROR "layering violations (cmake/check_layers.cmake):\n${errors}")
endif()
