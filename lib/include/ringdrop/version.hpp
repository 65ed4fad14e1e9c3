// ringdrop/version.hpp — the version this C++ API was built as:
// RINGDROP_VERSION_MAJOR, _MINOR, _PATCH, RINGDROP_VERSION (one comparable
// number) and RINGDROP_VERSION_STRING, from the generated ringdrop/version.h
// (its one home is the top-level CMakeLists.txt).
#pragma once

#include "ringdrop/version.h"
