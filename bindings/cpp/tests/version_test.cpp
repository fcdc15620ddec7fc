// ss_version(), the SS_VERSION_* macros, the C++ constants and Cargo.toml's [package] version agree.
// SESSIONSTORE_CARGO_VERSION is passed by the Makefile, read from Cargo.toml.
#include <sessionstore.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#ifndef SESSIONSTORE_CARGO_VERSION
#error "compile with -DSESSIONSTORE_CARGO_VERSION=\"x.y.z\" (Cargo.toml's [package] version)"
#endif

TEST(Version, AllSourcesAgree) {
  const std::string cargo = SESSIONSTORE_CARGO_VERSION;
  EXPECT_EQ(cargo, SS_VERSION_STRING);
  EXPECT_EQ(std::string(ss_version()), SS_VERSION_STRING);
  EXPECT_EQ(sessionstore::version(), cargo);
  EXPECT_EQ(sessionstore::Store::version(), cargo);
  EXPECT_EQ(sessionstore::header_version, cargo);

  int major = -1, minor = -1, patch = -1;
  char rest = 0;
  ASSERT_EQ(std::sscanf(cargo.c_str(), "%d.%d.%d%c", &major, &minor, &patch, &rest), 3)
      << "Cargo.toml's version is not plain MAJOR.MINOR.PATCH: " << cargo;
  EXPECT_EQ(SS_VERSION_MAJOR, major);
  EXPECT_EQ(SS_VERSION_MINOR, minor);
  EXPECT_EQ(SS_VERSION_PATCH, patch);
  EXPECT_EQ(SS_VERSION_NUMBER, major * 1000000L + minor * 1000L + patch);
  EXPECT_EQ(sessionstore::header_version_major, major);
  EXPECT_EQ(sessionstore::header_version_minor, minor);
  EXPECT_EQ(sessionstore::header_version_patch, patch);
  EXPECT_EQ(sessionstore::header_version_number, SS_VERSION_NUMBER);
}

TEST(Version, StatusStrIsStaticText) {
  EXPECT_STREQ(ss_status_str(12345u), "unknown status");
  for (std::uint32_t s = 0; s <= static_cast<std::uint32_t>(SS_STATUS_UNAVAILABLE); ++s) {
    ASSERT_NE(ss_status_str(s), nullptr);
    EXPECT_STRNE(ss_status_str(s), "unknown status") << s;
  }
}
