// assets.hpp — the console's page, stylesheet and script, compiled in
// (assets/, embedded by embed_assets.cmake): no file is read and nothing is
// fetched from the network at run time.
#pragma once

#include <string_view>

namespace ringdrop::console {

struct Asset {
  std::string_view path;  ///< "/", "/assets/console.js"...
  std::string_view type;  ///< its Content-Type
  std::string_view body;
};

/// The asset served at `path`, or nullptr.
const Asset* find_asset(std::string_view path);

}  // namespace ringdrop::console
