#include "ringdrop/owned_message.hpp"

#include <cstring>

namespace ringdrop {

Result<OwnedMessage> OwnedMessage::copy_of(std::span<const std::byte> bytes) {
  OwnedMessage m;
  const size_t words = (bytes.size() + sizeof(capnp::word) - 1) / sizeof(capnp::word);
  m.words_.reset(new capnp::word[words ? words : 1]);
  std::memcpy(m.words_.get(), bytes.data(), bytes.size());
  auto msg = IncomingMessage::open(std::span(reinterpret_cast<const std::byte*>(m.words_.get()), bytes.size()));
  if (!msg) return msg.error();
  m.message_.emplace(std::move(*msg));
  return m;
}

}  // namespace ringdrop
