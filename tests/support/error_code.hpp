#pragma once
// The code of the sb::Error that `fn` throws; fails the test if it throws
// nothing or something else.
#include "core/error.hpp"

#include <catch2/catch.hpp>

#include <functional>

namespace sb::test {

inline ErrorCode code_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.code();
  }
  FAIL("expected an sb::Error");
  return ErrorCode::internal;
}

}  // namespace sb::test
