// CRC-32C (Castagnoli: the reflected polynomial 0x82F63B78, initial and
// final value all ones), the checksum of TFRecord framing, and the "masked"
// form TFRecord stores: rotated right by 15 bits plus 0xA282EAD8, so that a
// CRC of data that itself holds CRCs does not degenerate.
//
//   std::uint32_t c = tensorboard::crc32c(bytes, n);          // "123456789" -> 0xE3069283
//   std::uint32_t m = tensorboard::masked_crc32c(bytes, n);
//
// Debian 12 packages no CRC-32C library, so this is a table-driven one; the
// records it guards are small (a few hundred bytes per step).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tessera::tensorboard {

std::uint32_t crc32c(const void* data, std::size_t size);
std::uint32_t mask_crc(std::uint32_t crc);
std::uint32_t masked_crc32c(const void* data, std::size_t size);

}  // namespace tessera::tensorboard
