// ringdrop/export.hpp — symbol visibility. The library is built with hidden
// visibility by default; RINGDROP_API marks what a linked program may use.
// libringdrop.so then exports only the C ABI (ringdrop_*: a version script,
// bindings/c/ringdrop.map); C++ programs link the static library.
#pragma once

#if defined(RINGDROP_STATIC_DEFINE)
#define RINGDROP_API
#else
#define RINGDROP_API __attribute__((visibility("default")))
#endif
