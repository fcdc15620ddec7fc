// Strings returned by the library are freed even when copying them (or building the exception) throws.
// This file replaces the global operator new so that allocations can be made to fail on purpose; the
// ASan/UBSan run of the suite (LeakSanitizer) then proves that nothing the library returned leaked.
#include <sessionstore.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>

namespace {
// Allocations of at least this many bytes throw std::bad_alloc (SIZE_MAX: none do).
std::atomic<std::size_t> g_fail_from{SIZE_MAX};

struct FailAllocations {
  explicit FailAllocations(std::size_t from) { g_fail_from = from; }
  ~FailAllocations() { g_fail_from = SIZE_MAX; }
  FailAllocations(const FailAllocations&) = delete;
  FailAllocations& operator=(const FailAllocations&) = delete;
};
}  // namespace

// noinline: inlined into callers, GCC would see free() on a pointer from new (-Wmismatched-new-delete).
__attribute__((noinline)) void* operator new(std::size_t n) {
  if (n >= g_fail_from.load(std::memory_order_relaxed)) throw std::bad_alloc();
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using sessionstore::OwnedString;
using sessionstore::Store;

namespace {
// False when another operator new serves libstdc++ (valgrind redirects the calls made through the PLT):
// the injection cannot work then. std::runtime_error's constructor lives in libstdc++.so.
bool injection_works() {
  FailAllocations fail(1);
  try {
    std::runtime_error probe("a message longer than any small-string buffer");
  } catch (const std::bad_alloc&) {
    return true;
  }
  return false;
}
}  // namespace

#define REQUIRE_INJECTION() \
  if (!injection_works()) GTEST_SKIP() << "operator new is not this file's (running under valgrind?)"

TEST(Allocation, CopyOfAReadThatThrowsFreesTheLibraryString) {
  REQUIRE_INJECTION();
  Store s = Store::open();
  const std::string pad(100000, 'x');
  s.upsert<void>(R"({"session_id":"big","pad":")" + pad + "\"}");
  int bad_allocs = 0;
  for (int i = 0; i < 3; ++i) {
    FailAllocations fail(50000);
    try {
      (void)s.read("big");  // built inside ss_read_with's sink, which must carry the bad_alloc out
    } catch (const std::bad_alloc&) {
      ++bad_allocs;
    }
    try {
      (void)s.get_all_sessions();
    } catch (const std::bad_alloc&) {
      ++bad_allocs;
    }
    try {
      (void)s.export_json();
    } catch (const std::bad_alloc&) {
      ++bad_allocs;
    }
    try {
      (void)s.export_with_seq();
    } catch (const std::bad_alloc&) {
      ++bad_allocs;
    }
    try {
      (void)s.changes(0);
    } catch (const std::bad_alloc&) {
      ++bad_allocs;
    }
    try {
      (void)s.append_runs("big", "[1]");  // stored; copying the result fails
    } catch (const std::bad_alloc&) {
      ++bad_allocs;
    }
  }
  EXPECT_EQ(bad_allocs, 18);
  EXPECT_TRUE(s.read("big").has_value()) << "the store is unaffected";
}

TEST(Allocation, BuildingTheExceptionThatThrowsFreesTheMessage) {
  REQUIRE_INJECTION();
  Store s = Store::open();
  int bad_allocs = 0;
  for (int i = 0; i < 3; ++i) {
    FailAllocations fail(1);  // every allocation fails: the Error's message cannot be built
    try {
      s.upsert<void>("{ this is not json");
    } catch (const std::bad_alloc&) {
      ++bad_allocs;
    } catch (const sessionstore::Error&) {
    }
  }
  EXPECT_EQ(bad_allocs, 3);
}

TEST(Allocation, OwnedStringResultsNeedNoCppAllocation) {
  Store s = Store::open();
  s.upsert<void>(R"({"session_id":"s1","user_id":"u"})");
  bool ok = false;
  {
    FailAllocations fail(1);
    std::optional<OwnedString> r = s.read<OwnedString>("s1", "u");
    OwnedString ids = s.get_all_session_ids<OwnedString>();
    ok = r.has_value() && ids.view() == "[\"s1\"]";
  }
  EXPECT_TRUE(ok);
}

TEST(Allocation, ReadIntoNeedsNoCppAllocation) {
  Store s = Store::open();
  s.upsert<void>(R"({"session_id":"s1","user_id":"u"})");
  char buf[256];
  std::string out;
  out.reserve(256);
  std::optional<std::size_t> len;
  bool found = false;
  {
    FailAllocations fail(1);
    len = s.read_into("s1", buf, sizeof buf, "u");
    found = s.read_into("s1", out, "u");
  }
  ASSERT_TRUE(len.has_value());
  EXPECT_EQ(std::string(buf, *len), *s.read("s1"));
  EXPECT_TRUE(found);
  EXPECT_EQ(out, *s.read("s1"));
}

TEST(Allocation, ReadIntoAStringThatCannotGrowThrowsAndKeepsIt) {
  REQUIRE_INJECTION();
  Store s = Store::open();
  s.upsert<void>(R"({"session_id":"big","pad":")" + std::string(100000, 'x') + "\"}");
  std::string out = "kept";
  int bad_allocs = 0;
  for (int i = 0; i < 3; ++i) {
    FailAllocations fail(50000);
    try {
      (void)s.read_into("big", out);  // the bad_alloc of assign() in ss_read_with's sink is carried out
    } catch (const std::bad_alloc&) {
      ++bad_allocs;
    }
  }
  EXPECT_EQ(bad_allocs, 3);
  EXPECT_EQ(out, "kept");
  EXPECT_TRUE(s.read_into("big", out));
  EXPECT_EQ(out.size(), s.read("big")->size());
}
