#include "drop/drop_receipt.hpp"

#include "drop/drop_headers.hpp"
#include "drop/drop_name.hpp"

namespace ringdrop::detail {

void write_receipt(const DropTree& t, std::string_view id, const DropHeaders& headers,
                   std::string_view outcome, std::string_view reason) noexcept {
  if (t.fd(Dir::receipts) < 0) return;  // a channel made before receipts/
  const auto name = headers.find(drop_header::original_name);
  if (name == headers.end()) return;
  try {
    DropHeaders receipt{{"id", std::string(id)},
                        {"name", name->second},
                        {"outcome", std::string(outcome)},
                        {"at", iso_time(wall_ns())}};
    if (!reason.empty()) receipt.emplace("reason", std::string(reason.substr(0, 1024)));
    // The writer's name, cut so the whole stays within NAME_MAX (255).
    std::string file = name->second.substr(0, 200) + "." + std::string(id);
    for (char& c : file) {
      if (c == '/') c = '_';
    }
    (void)write_small_file(t, Dir::receipts, file, encode_headers(receipt));
  } catch (...) {  // out of memory: no receipt, the message goes on regardless
  }
}

}  // namespace ringdrop::detail
