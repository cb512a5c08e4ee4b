// Completion tokens shared by the coroutine code: `use_tuple` makes an
// awaited operation return (error_code, result...) instead of throwing.
#pragma once

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

namespace tern {

inline constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace tern
