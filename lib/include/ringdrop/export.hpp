// ringdrop/export.hpp — symbol visibility. The library is built with hidden
// visibility by default; only what is marked RINGDROP_API is exported from
// libringdrop.so.
#pragma once

#if defined(RINGDROP_STATIC_DEFINE)
#define RINGDROP_API
#else
#define RINGDROP_API __attribute__((visibility("default")))
#endif
