// Every status as an exception, the Error type, and the closed / moved-from Store.
#include <sessionstore.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using sessionstore::Error;
using sessionstore::Mode;
using sessionstore::OwnedString;
using sessionstore::Status;
using sessionstore::Store;

namespace {

// Runs f, expects an Error with `code`, returns it for further checks.
template <class F>
Error expect_error(Status code, F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_EQ(static_cast<std::uint32_t>(e.status()), static_cast<std::uint32_t>(code));
    EXPECT_FALSE(e.message().empty());
    return e;
  }
  ADD_FAILURE() << "no exception; expected " << sessionstore::status_name(code);
  return Error(Status::Ok, "none");
}

std::string nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

}  // namespace

// --- the Error type -------------------------------------------------------------------------------

TEST(ErrorType, IsARuntimeErrorWithStatusAndMessage) {
  static_assert(std::is_base_of_v<std::runtime_error, Error>);
  static_assert(std::is_nothrow_copy_constructible_v<Error>);
  Error e(Status::Conflict, "session \"x\" exists");
  EXPECT_EQ(e.code(), Status::Conflict);
  EXPECT_EQ(e.status(), SS_STATUS_CONFLICT);
  EXPECT_EQ(e.message(), "session \"x\" exists");
  EXPECT_STREQ(e.what(), "sessionstore: CONFLICT: session \"x\" exists");
  Error copy = e;
  EXPECT_EQ(copy.message(), e.message());
  const std::runtime_error& base = e;
  EXPECT_STREQ(base.what(), e.what());
}

TEST(ErrorType, StatusNamesAndValuesMatchTheCHeader) {
  EXPECT_EQ(static_cast<std::uint32_t>(Status::Ok), static_cast<std::uint32_t>(SS_STATUS_OK));
  EXPECT_EQ(static_cast<std::uint32_t>(Status::NotFound), 1u);
  EXPECT_EQ(static_cast<std::uint32_t>(Status::InvalidArgument), 2u);
  EXPECT_EQ(static_cast<std::uint32_t>(Status::InvalidJson), 3u);
  EXPECT_EQ(static_cast<std::uint32_t>(Status::InvalidSession), 4u);
  EXPECT_EQ(static_cast<std::uint32_t>(Status::Conflict), 5u);
  EXPECT_EQ(static_cast<std::uint32_t>(Status::TooLarge), 6u);
  EXPECT_EQ(static_cast<std::uint32_t>(Status::Internal), 7u);
  EXPECT_EQ(static_cast<std::uint32_t>(Status::PermissionDenied), static_cast<std::uint32_t>(SS_STATUS_PERMISSION_DENIED));
  EXPECT_EQ(static_cast<std::uint32_t>(Status::PermissionDenied), 8u);
  EXPECT_EQ(static_cast<std::uint32_t>(Status::Io), static_cast<std::uint32_t>(SS_STATUS_IO));
  EXPECT_EQ(static_cast<std::uint32_t>(Status::Io), 9u);
  EXPECT_EQ(static_cast<std::uint32_t>(Status::Locked), static_cast<std::uint32_t>(SS_STATUS_LOCKED));
  EXPECT_EQ(static_cast<std::uint32_t>(Status::Locked), 10u);
  EXPECT_EQ(static_cast<std::uint32_t>(Status::Corrupt), static_cast<std::uint32_t>(SS_STATUS_CORRUPT));
  EXPECT_EQ(static_cast<std::uint32_t>(Status::Corrupt), 11u);
  EXPECT_EQ(static_cast<std::uint32_t>(Status::Poisoned), static_cast<std::uint32_t>(SS_STATUS_POISONED));
  EXPECT_EQ(static_cast<std::uint32_t>(Status::Poisoned), 12u);
  EXPECT_EQ(static_cast<std::uint32_t>(Status::VersionMismatch), static_cast<std::uint32_t>(SS_STATUS_VERSION_MISMATCH));
  EXPECT_EQ(static_cast<std::uint32_t>(Status::VersionMismatch), 13u);
  EXPECT_EQ(static_cast<std::uint32_t>(Status::FeedTruncated), static_cast<std::uint32_t>(SS_STATUS_FEED_TRUNCATED));
  EXPECT_EQ(static_cast<std::uint32_t>(Status::FeedTruncated), 14u);
  EXPECT_EQ(static_cast<std::uint32_t>(Status::Full), static_cast<std::uint32_t>(SS_STATUS_FULL));
  EXPECT_EQ(static_cast<std::uint32_t>(Status::Full), 15u);
  EXPECT_EQ(static_cast<std::uint32_t>(Status::Unavailable), static_cast<std::uint32_t>(SS_STATUS_UNAVAILABLE));
  EXPECT_EQ(static_cast<std::uint32_t>(Status::Unavailable), 16u);
  EXPECT_EQ(static_cast<std::uint32_t>(Status::Closed), static_cast<std::uint32_t>(SS_BINDING_STATUS_CLOSED));
  EXPECT_EQ(static_cast<std::uint32_t>(Status::Closed), 65536u) << "the number shared by every binding";
  EXPECT_EQ(sessionstore::status_name(Status::Ok), "OK");
  EXPECT_EQ(sessionstore::status_name(Status::NotFound), "NOT_FOUND");
  EXPECT_EQ(sessionstore::status_name(Status::InvalidArgument), "INVALID_ARGUMENT");
  EXPECT_EQ(sessionstore::status_name(Status::InvalidJson), "INVALID_JSON");
  EXPECT_EQ(sessionstore::status_name(Status::InvalidSession), "INVALID_SESSION");
  EXPECT_EQ(sessionstore::status_name(Status::Conflict), "CONFLICT");
  EXPECT_EQ(sessionstore::status_name(Status::TooLarge), "TOO_LARGE");
  EXPECT_EQ(sessionstore::status_name(Status::Internal), "INTERNAL");
  EXPECT_EQ(sessionstore::status_name(Status::PermissionDenied), "PERMISSION_DENIED");
  EXPECT_EQ(sessionstore::status_name(Status::Io), "IO");
  EXPECT_EQ(sessionstore::status_name(Status::Locked), "LOCKED");
  EXPECT_EQ(sessionstore::status_name(Status::Corrupt), "CORRUPT");
  EXPECT_EQ(sessionstore::status_name(Status::Poisoned), "POISONED");
  EXPECT_EQ(sessionstore::status_name(Status::VersionMismatch), "VERSION_MISMATCH");
  EXPECT_EQ(sessionstore::status_name(Status::FeedTruncated), "FEED_TRUNCATED");
  EXPECT_EQ(sessionstore::status_name(Status::Full), "FULL");
  EXPECT_EQ(sessionstore::status_name(Status::Unavailable), "UNAVAILABLE");
  EXPECT_EQ(sessionstore::status_name(Status::Closed), "CLOSED");
  EXPECT_EQ(sessionstore::status_name(static_cast<Status>(99)), "UNKNOWN");
}

TEST(ErrorType, EveryStatusTheLibraryKnowsIsNamedHere) {
  // ss_status_str gives "unknown status" for any number the library does not know. Every number it does
  // know (scanned well past SS_BINDING_STATUS_CLOSED, so a status added after a gap is found too) must be
  // a named Status here, with the library's text; a new library status fails this test until it is added.
  const std::string_view unknown = ss_status_str(UINT32_MAX);
  ASSERT_EQ(unknown, "unknown status");
  std::set<std::uint32_t> known_by_library;
  for (std::uint32_t i = 0; i <= 2u * static_cast<std::uint32_t>(SS_BINDING_STATUS_CLOSED); ++i) {
    const std::string_view text = ss_status_str(i);
    if (text == unknown) continue;
    known_by_library.insert(i);
    const auto status = static_cast<Status>(i);
    EXPECT_NE(sessionstore::status_name(status), "UNKNOWN") << "status " << i << " (\"" << text << "\")";
    EXPECT_EQ(sessionstore::status_text(status), text) << "status " << i;
  }
  // And the other way round: every Status of this binding is one the library knows (status_name's switch
  // covers every enumerator, under -Wswitch -Werror).
  const Status all[] = {Status::Ok,       Status::NotFound, Status::InvalidArgument, Status::InvalidJson,
                        Status::InvalidSession, Status::Conflict, Status::TooLarge, Status::Internal,
                        Status::PermissionDenied, Status::Io, Status::Locked, Status::Corrupt,
                        Status::Poisoned, Status::VersionMismatch, Status::FeedTruncated, Status::Full,
                        Status::Unavailable, Status::Closed};
  std::set<std::uint32_t> named_here;
  for (Status s : all) {
    named_here.insert(static_cast<std::uint32_t>(s));
    EXPECT_NE(sessionstore::status_name(s), "UNKNOWN");
    EXPECT_NE(sessionstore::status_text(s), unknown) << sessionstore::status_name(s);
  }
  EXPECT_EQ(known_by_library, named_here);
  EXPECT_EQ(sessionstore::status_text(Status::Closed), ss_status_str(SS_BINDING_STATUS_CLOSED));
  EXPECT_EQ(sessionstore::status_text(Status::Closed), "closed");
  EXPECT_EQ(sessionstore::status_text(Status::PermissionDenied), "permission denied");
  EXPECT_EQ(sessionstore::status_text(Status::Io), "I/O error");
  EXPECT_EQ(sessionstore::status_text(Status::Locked), "locked");
  EXPECT_EQ(sessionstore::status_text(Status::Corrupt), "corrupt");
  EXPECT_EQ(sessionstore::status_text(Status::Poisoned), "poisoned");
  EXPECT_EQ(sessionstore::status_text(Status::VersionMismatch), "version mismatch");
  EXPECT_EQ(sessionstore::status_text(Status::FeedTruncated), "feed truncated");
  EXPECT_EQ(sessionstore::status_text(Status::Full), "full");
  EXPECT_EQ(sessionstore::status_text(Status::Unavailable), "unavailable");
}

TEST(ErrorType, LimitsAreTheHeaders) {
  static_assert(sessionstore::default_max_session_bytes == SS_DEFAULT_MAX_SESSION_BYTES);
  static_assert(sessionstore::max_depth == SS_MAX_DEPTH);
  static_assert(sessionstore::default_sync_interval_ms == SS_DEFAULT_SYNC_INTERVAL_MS);
  static_assert(sessionstore::default_compact_factor == SS_DEFAULT_COMPACT_FACTOR);
  static_assert(sessionstore::default_compact_min_bytes == SS_DEFAULT_COMPACT_MIN_BYTES);
  static_assert(sessionstore::default_feed_bytes == SS_DEFAULT_FEED_BYTES);
  static_assert(sessionstore::max_changes == SS_MAX_CHANGES);
  static_assert(sessionstore::default_connect_timeout_ms == SS_DEFAULT_CONNECT_TIMEOUT_MS);
  static_assert(sessionstore::default_command_timeout_ms == SS_DEFAULT_COMMAND_TIMEOUT_MS);
  EXPECT_EQ(sessionstore::default_connect_timeout_ms, 2000u) << "2 s, as documented";
  EXPECT_EQ(sessionstore::default_command_timeout_ms, 10000u) << "10 s, as documented";
  EXPECT_EQ(sessionstore::default_feed_bytes, 16u * 1024u * 1024u) << "16 MiB, as documented";
  EXPECT_EQ(sessionstore::max_changes, 10000u);
  EXPECT_EQ(sessionstore::Options{}.feed_bytes, sessionstore::default_feed_bytes);
  EXPECT_EQ(sessionstore::Options{}.max_session_bytes, sessionstore::default_max_session_bytes);
  EXPECT_EQ(sessionstore::Options{}.mode, Mode::Agent);
  EXPECT_EQ(sessionstore::Options{}.non_finite_numbers, sessionstore::NonFiniteNumbers::Reject);
  EXPECT_FALSE(sessionstore::Options{}.durability.has_value());
  EXPECT_EQ(sessionstore::Options{}.backend, sessionstore::Backend::Local);
  EXPECT_TRUE(sessionstore::Options{}.url.empty());
  EXPECT_FALSE(sessionstore::Options{}.namespace_.has_value());
  EXPECT_EQ(sessionstore::Options{}.connect_timeout_ms, sessionstore::default_connect_timeout_ms);
  EXPECT_EQ(sessionstore::Options{}.command_timeout_ms, sessionstore::default_command_timeout_ms);
  EXPECT_EQ(sessionstore::Durability{}.sync_interval_ms, 1000u);
  EXPECT_EQ(sessionstore::Durability{}.compact_factor, 2u);
  EXPECT_EQ(sessionstore::Durability{}.compact_min_bytes, 64u * 1024u * 1024u);
  EXPECT_EQ(sessionstore::Durability{}.sync, sessionstore::SyncPolicy::Always);
  EXPECT_EQ(sessionstore::default_max_session_bytes, 32u * 1024u * 1024u) << "32 MiB, as documented";
  EXPECT_EQ(sessionstore::max_depth, 256);
}

// --- one test per status ---------------------------------------------------------------------------

TEST(Status, NotFound) {
  Store s = Store::open();
  EXPECT_FALSE(s.read("absent").has_value()) << "read reports NOT_FOUND as std::nullopt";
  Error e = expect_error(Status::NotFound, [&] { s.rename_session("absent", "name"); });
  EXPECT_NE(std::string(e.what()).find("NOT_FOUND"), std::string::npos);
}

TEST(Status, InvalidArgument) {
  expect_error(Status::InvalidArgument, [] { Store::from_config(R"({"bogus":1})"); });
  expect_error(Status::InvalidArgument, [] { Store::from_config(R"({"mode":"robot"})"); });
  expect_error(Status::InvalidArgument, [] { Store::open(Mode::Agent, 0); });
  Store s = Store::open();
  expect_error(Status::InvalidArgument, [&] { s.share("robot"); });
  expect_error(Status::InvalidArgument, [&] { s.query(R"({"colour":"red"})"); });
  expect_error(Status::InvalidArgument, [&] { s.query(R"({"limit":-1})"); });
  expect_error(Status::InvalidArgument, [&] { s.query(R"({"sort_by":"colour"})"); });
  expect_error(Status::InvalidArgument, [&] { s.upsert_many(R"({"session_id":"not an array"})"); });
  expect_error(Status::InvalidArgument, [&] { s.delete_sessions(R"([1,2])"); });
  expect_error(Status::InvalidArgument, [&] { s.import_json("[]"); });
  // Ids: NULL, not UTF-8, or (caught by the binding) holding a NUL byte.
  expect_error(Status::InvalidArgument, [&] { s.read(nullptr); });
  expect_error(Status::InvalidArgument, [&] { s.read("\xff\xfe"); });
  expect_error(Status::InvalidArgument, [&] { s.get_all_sessions("\xc3"); });
  expect_error(Status::InvalidArgument, [&] { s.delete_session(nullptr); });
  expect_error(Status::InvalidArgument, [&] { s.rename_session("x", nullptr); });
  Error nul = expect_error(Status::InvalidArgument, [&] { s.read(std::string_view("a\0b", 3)); });
  EXPECT_NE(nul.message().find("NUL"), std::string_view::npos);
  expect_error(Status::InvalidArgument, [&] { s.read(std::string("a\0b", 3)); });
  expect_error(Status::InvalidArgument, [&] { s.delete_session(std::string(200, '\0')); });
}

TEST(Status, InvalidJson) {
  Store s = Store::open();
  expect_error(Status::InvalidJson, [&] { s.upsert("{"); });
  expect_error(Status::InvalidJson, [&] { s.upsert(""); });
  expect_error(Status::InvalidJson, [&] { s.upsert(std::string_view()); });
  expect_error(Status::InvalidJson, [&] { s.upsert(R"({"session_id":"a","session_id":"b"})"); });
  expect_error(Status::InvalidJson, [&] { s.upsert("{\"session_id\":\"\xff\"}"); });
  // The array of upsert_many is one level around its sessions, so this is deeper than max_depth.
  expect_error(Status::InvalidJson, [&] { s.upsert_many(nested(sessionstore::max_depth + 2)); });
  expect_error(Status::InvalidJson, [&] { s.query("{"); });
  expect_error(Status::InvalidJson, [&] { s.delete_sessions("[\"a\""); });
  expect_error(Status::InvalidJson, [&] { s.import_json("{"); });
  expect_error(Status::InvalidJson, [] { Store::from_config("{"); });
  EXPECT_EQ(s.get_all_session_ids(), "[]");
}

TEST(Status, InvalidSession) {
  Store s = Store::open();
  expect_error(Status::InvalidSession, [&] { s.upsert("[]"); });
  expect_error(Status::InvalidSession, [&] { s.upsert("{}"); });
  expect_error(Status::InvalidSession, [&] { s.upsert(R"({"session_id":""})"); });
  expect_error(Status::InvalidSession, [&] { s.upsert(R"({"session_id":7})"); });
  expect_error(Status::InvalidSession, [&] { s.upsert(R"({"session_id":"a","user_id":5})"); });
  expect_error(Status::InvalidSession, [&] { s.upsert(R"({"session_id":"a","created_at":"today"})"); });
  expect_error(Status::InvalidSession, [&] { s.upsert(R"({"session_id":"a","session_type":"team"})"); });
  expect_error(Status::InvalidSession, [&] { s.import_json(R"({"a":{"session_id":"b"}})"); });
  EXPECT_EQ(s.get_all_session_ids(), "[]");
}

TEST(Status, Conflict) {
  Store agents = Store::open();
  Store teams = agents.share(Mode::Team);
  agents.upsert(R"({"session_id":"shared-id","agent_id":"a"})");
  Error e = expect_error(Status::Conflict, [&] { teams.upsert(R"({"session_id":"shared-id"})"); });
  EXPECT_NE(e.message().find("shared-id"), std::string_view::npos);
  expect_error(Status::Conflict, [&] { teams.upsert_many(R"([{"session_id":"new"},{"session_id":"shared-id"}])"); });
  EXPECT_FALSE(teams.read("new").has_value()) << "upsert_many is atomic";
  expect_error(Status::Conflict,
               [&] { teams.import_json(R"({"shared-id":{"session_id":"shared-id","session_type":"team"}})"); });
  EXPECT_EQ(agents.read("shared-id").has_value(), true);
}

TEST(Status, TooLarge) {
  Store s = Store::open(Mode::Agent, 64);
  const std::string big = R"({"session_id":"big","pad":")" + std::string(100, 'x') + "\"}";
  expect_error(Status::TooLarge, [&] { s.upsert(big); });
  expect_error(Status::TooLarge, [&] { s.upsert_many("[" + big + "]"); });
  expect_error(Status::TooLarge, [&] { s.import_json(R"({"big":)" + big + "}"); });
  // Not asserted: ss_rename_session does not apply max_session_bytes (reported to the core).
}

TEST(Status, PermissionDenied) {
  Store s = Store::open();
  s.upsert(R"({"session_id":"owned","user_id":"ava","n":1})");
  Error e = expect_error(Status::PermissionDenied, [&] { s.upsert(R"({"session_id":"owned","user_id":"bob"})"); });
  EXPECT_EQ(e.status(), SS_STATUS_PERMISSION_DENIED);
  EXPECT_NE(std::string(e.what()).find("PERMISSION_DENIED"), std::string::npos) << e.what();
  expect_error(Status::PermissionDenied, [&] { s.upsert<void>(R"({"session_id":"owned"})"); });
  expect_error(Status::PermissionDenied,
               [&] { s.upsert_many(R"([{"session_id":"fresh"},{"session_id":"owned","user_id":null}])"); });
  EXPECT_FALSE(s.read("fresh").has_value()) << "upsert_many is atomic";
  EXPECT_NE(s.read("owned")->find(R"("n":1)"), std::string::npos) << "nothing changed";
}

TEST(Status, VersionMismatch) {
  Store s = Store::open();
  s.upsert(R"({"session_id":"v","n":1})");  // version 1
  const std::string before = s.export_json();
  Error e = expect_error(Status::VersionMismatch, [&] { s.upsert_if(R"({"session_id":"v","n":2})", 0); });
  EXPECT_EQ(e.status(), SS_STATUS_VERSION_MISMATCH);
  EXPECT_NE(std::string(e.what()).find("VERSION_MISMATCH"), std::string::npos) << e.what();
  expect_error(Status::VersionMismatch, [&] { s.upsert_if<void>(R"({"session_id":"v","n":2})", 2); });
  expect_error(Status::VersionMismatch, [&] { s.rename_session_if("v", "name", 7); });
  expect_error(Status::VersionMismatch, [&] { s.delete_session_if("v", 0); });
  expect_error(Status::VersionMismatch, [&] { s.upsert_if(R"({"session_id":"new"})", 1); });
  EXPECT_EQ(s.export_json(), before) << "nothing changed";
  // The type and the owner are checked before the version.
  s.upsert(R"({"session_id":"owned","user_id":"ava"})");
  expect_error(Status::PermissionDenied, [&] { s.upsert_if(R"({"session_id":"owned","user_id":"bob"})", 99); });
  expect_error(Status::Conflict, [&] { s.share(Mode::Team).upsert_if(R"({"session_id":"owned"})", 0); });
}

TEST(Status, FeedTruncated) {
  Store s = Store::from_config(R"({"feed_bytes":400})");
  for (int i = 0; i < 10; ++i) s.upsert(R"({"session_id":"c","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})");
  Error e = expect_error(Status::FeedTruncated, [&] { s.changes(0); });
  EXPECT_EQ(e.status(), SS_STATUS_FEED_TRUNCATED);
  EXPECT_NE(std::string(e.what()).find("FEED_TRUNCATED"), std::string::npos) << e.what();
  expect_error(Status::FeedTruncated, [&] { s.changes<OwnedString>(0, 1, true); });
  expect_error(Status::FeedTruncated, [&] { s.changes(11); });  // above the latest change
  EXPECT_NO_THROW(s.changes(10));
}

TEST(Status, Full) {
  sessionstore::Options options;
  options.max_sessions = 1;
  options.when_full = sessionstore::WhenFull::Refuse;
  Store s = Store::open(options);
  s.upsert(R"({"session_id":"one"})");
  const std::string before = s.export_json();
  Error e = expect_error(Status::Full, [&] { s.upsert(R"({"session_id":"two"})"); });
  EXPECT_EQ(e.status(), SS_STATUS_FULL);
  EXPECT_NE(std::string(e.what()).find("FULL"), std::string::npos) << e.what();
  EXPECT_NE(e.message().find("max_sessions"), std::string_view::npos) << e.what();
  expect_error(Status::Full, [&] { s.upsert<void>(R"({"session_id":"two"})"); });
  expect_error(Status::Full, [&] { s.upsert_many(R"([{"session_id":"two"}])"); });
  expect_error(Status::Full, [&] { s.upsert_if(R"({"session_id":"two"})", 0); });
  expect_error(Status::Full, [&] { s.import_json(R"({"two":{"session_id":"two"}})"); });
  expect_error(Status::Full, [&] { s.share(Mode::Team).upsert(R"({"session_id":"t"})"); });  // every type counts
  EXPECT_EQ(s.export_json(), before) << "nothing changed";
  // Under "evict" the same write evicts instead; a session larger than max_bytes is FULL under both.
  sessionstore::Options evict;
  evict.max_bytes = 64;
  Store small = Store::open(evict);
  Error big = expect_error(Status::Full, [&] { small.upsert(R"({"session_id":"big","pad":")" + std::string(100, 'x') + "\"}"); });
  EXPECT_NE(big.message().find("max_bytes"), std::string_view::npos) << big.what();
}

TEST(Status, Unavailable) {
  // A Redis store connects when it opens: a loopback port nobody listens on (one the kernel gave a
  // socket, closed again) refuses the connection. tests/redis_test.cpp has a real server go away.
  int port = 0;
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port = ntohs(addr.sin_port);
    ::close(fd);
  }
  const std::string url = "redis://127.0.0.1:" + std::to_string(port) + "/0";
  Error e = expect_error(Status::Unavailable, [&] {
    Store::from_config(R"({"backend":"redis","url":")" + url + R"(","connect_timeout_ms":500})");
  });
  EXPECT_EQ(e.status(), SS_STATUS_UNAVAILABLE);
  EXPECT_EQ(std::string(e.what()).rfind("sessionstore: UNAVAILABLE: ", 0), 0u) << e.what();
  sessionstore::Options options;
  options.backend = sessionstore::Backend::Redis;
  options.url = url;
  options.connect_timeout_ms = 500;
  expect_error(Status::Unavailable, [&] { Store::open(options); });
}

TEST(Status, NewCallsInvalidArguments) {
  Store s = Store::open();
  s.upsert(R"({"session_id":"s","memory":{"runs":[]}})");
  expect_error(Status::InvalidArgument, [&] { s.changes(0, 0); });
  expect_error(Status::InvalidArgument, [&] { s.append_runs("s", "[]"); });
  expect_error(Status::InvalidArgument, [&] { s.append_runs("s", "{}"); });
  expect_error(Status::InvalidArgument, [&] { s.append_runs(nullptr, "[1]"); });
  expect_error(Status::InvalidArgument, [&] { s.append_runs(std::string_view("s\0", 2), "[1]"); });
  expect_error(Status::InvalidArgument, [&] { s.rename_session_if("s", nullptr, 1); });
  expect_error(Status::InvalidArgument, [&] { s.delete_session_if(nullptr, 1); });
  expect_error(Status::InvalidJson, [&] { s.append_runs("s", "[1"); });
  expect_error(Status::InvalidJson, [&] { s.append_runs("s", std::string_view()); });
  expect_error(Status::InvalidJson, [&] { s.upsert_if("{", 0); });
  expect_error(Status::InvalidSession, [&] { s.upsert_if(R"({"session_id":"s","version":-1})", 0); });
  expect_error(Status::InvalidSession, [&] { s.upsert(R"({"session_id":"s","version":"2"})"); });
  expect_error(Status::NotFound, [&] { s.append_runs("absent", "[1]"); });
  expect_error(Status::NotFound, [&] { s.rename_session_if("absent", "x", 0); });
  Store big = Store::open(Mode::Agent, 64);
  big.upsert(R"({"session_id":"b"})");
  expect_error(Status::TooLarge, [&] { big.append_runs("b", "[\"" + std::string(100, 'x') + "\"]"); });
  s.upsert(R"({"session_id":"odd","memory":{"runs":5}})");
  expect_error(Status::InvalidSession, [&] { s.append_runs("odd", "[1]"); });
}

TEST(Status, ReadIntoInvalidArguments) {
  Store s = Store::open();
  s.upsert(R"({"session_id":"s","user_id":"u"})");
  char buf[256];
  // The session exists: a NULL buffer with room claimed must not be answered with its length.
  Error e = expect_error(Status::InvalidArgument, [&] { s.read_into("s", nullptr, 1); });
  EXPECT_NE(e.message().find("buf"), std::string_view::npos) << e.what();
  expect_error(Status::InvalidArgument, [&] { s.read_into("s", nullptr, sizeof buf, "u"); });
  expect_error(Status::InvalidArgument, [&] { s.read_into(nullptr, buf, sizeof buf); });
  expect_error(Status::InvalidArgument, [&] { s.read_into("\xff\xfe", buf, sizeof buf); });
  expect_error(Status::InvalidArgument, [&] { s.read_into("s", buf, sizeof buf, "\xc3"); });
  expect_error(Status::InvalidArgument, [&] { s.read_into(std::string_view("s\0", 2), buf, sizeof buf); });
  std::string out = "kept";
  expect_error(Status::InvalidArgument, [&] { s.read_into(nullptr, out); });
  expect_error(Status::InvalidArgument, [&] { s.read_into("s", out, std::string("u\0", 2)); });
  EXPECT_EQ(out, "kept");
  EXPECT_EQ(s.read_into("s", buf, sizeof buf), s.read("s")->size()) << "the store is unaffected";
}

TEST(Status, DefaultLimitsOfAStoreAreTheHeaders) {
  Store s = Store::open();
  // Nesting: the session object is one level, so max_depth - 1 arrays inside it reach the limit.
  const std::string deepest = R"({"session_id":"deep","x":)" + nested(sessionstore::max_depth - 1) + "}";
  const std::string deeper = R"({"session_id":"deep","x":)" + nested(sessionstore::max_depth) + "}";
  EXPECT_NO_THROW(s.upsert<void>(deepest));
  expect_error(Status::InvalidJson, [&] { s.upsert(deeper); });
  // Size: a session of exactly default_max_session_bytes is accepted by a store opened with the
  // defaults, one byte more is not.
  const std::string head = R"({"session_id":"big","pad":")";
  const auto session_of = [&](std::size_t bytes) {
    return head + std::string(bytes - head.size() - 2, 'x') + "\"}";
  };
  EXPECT_NO_THROW(s.upsert<void>(session_of(sessionstore::default_max_session_bytes)));
  expect_error(Status::TooLarge, [&] { s.upsert<void>(session_of(sessionstore::default_max_session_bytes + 1)); });
  EXPECT_EQ(s.delete_session("big"), 1u);
}

TEST(Status, InternalAndUnknownStatusesFromTheLibrary) {
  // SS_STATUS_INTERNAL means a caught panic: a library bug that cannot be provoked on purpose, so the
  // conversion of a failed call into an exception is exercised directly. A NULL message falls back to
  // ss_status_str; a status from a newer library keeps its number.
  try {
    sessionstore::detail::raise(SS_STATUS_INTERNAL, nullptr);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Status::Internal);
    EXPECT_EQ(e.message(), ss_status_str(SS_STATUS_INTERNAL));
  }
  try {
    sessionstore::detail::raise(static_cast<ss_status>(42u), nullptr);
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<std::uint32_t>(e.code()), 42u);
    EXPECT_EQ(e.message(), "unknown status");
    EXPECT_NE(std::string(e.what()).find("UNKNOWN"), std::string::npos);
  }
  // And with a real message owned by the library (freed by raise): a NULL store's INVALID_ARGUMENT.
  char* error = nullptr;
  ASSERT_NE(ss_upsert(nullptr, "{", 1, nullptr, nullptr, &error), SS_STATUS_OK);
  ASSERT_NE(error, nullptr);
  std::string expected = error;
  try {
    sessionstore::detail::raise(SS_STATUS_INTERNAL, error);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Status::Internal);
    EXPECT_EQ(e.message(), expected);
  }
}

// --- closed and moved-from stores ------------------------------------------------------------------

TEST(Move, StoreIsMoveOnly) {
  static_assert(!std::is_copy_constructible_v<Store>);
  static_assert(!std::is_copy_assignable_v<Store>);
  static_assert(std::is_nothrow_move_constructible_v<Store>);
  static_assert(std::is_nothrow_move_assignable_v<Store>);
  static_assert(std::is_nothrow_destructible_v<Store>);
  static_assert(!std::is_copy_constructible_v<OwnedString>);
  static_assert(std::is_nothrow_move_constructible_v<OwnedString>);
  static_assert(sizeof(Store) == sizeof(void*), "the unique_ptr's deleter is empty");
}

TEST(Move, MoveConstructAndAssignTransferTheHandle) {
  Store a = Store::open();
  a.upsert(R"({"session_id":"s"})");
  ss_store* raw = a.native_handle();
  Store b = std::move(a);
  EXPECT_FALSE(a.is_open());  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(a.native_handle(), nullptr);
  EXPECT_EQ(b.native_handle(), raw);
  EXPECT_TRUE(b.read("s").has_value());

  Store c = Store::open(Mode::Team);
  c.upsert(R"({"session_id":"c-only"})");
  Store keep_c = c.share();
  c = std::move(b);  // closes c's previous handle; keep_c keeps that data alive
  EXPECT_EQ(c.native_handle(), raw);
  EXPECT_TRUE(c.read("s").has_value());
  EXPECT_TRUE(keep_c.read("c-only").has_value());

  Store& alias = c;
  c = std::move(alias);  // self-move-assignment leaves a valid (possibly closed) Store, no crash
  Store d;
  d.swap(keep_c);
  EXPECT_TRUE(d.read("c-only").has_value());
  EXPECT_FALSE(keep_c.is_open());
  using std::swap;
  swap(d, keep_c);
  EXPECT_TRUE(keep_c.read("c-only").has_value());
}

TEST(Move, ReleaseAndAdopt) {
  Store a = Store::open();
  a.upsert(R"({"session_id":"r"})");
  ss_store* raw = a.release();
  EXPECT_FALSE(a.is_open());
  Store adopted(raw);
  EXPECT_TRUE(adopted.read("r").has_value());
  Store null_adopted(nullptr);
  EXPECT_FALSE(null_adopted.is_open());
}

TEST(Move, EveryMethodOnAClosedStoreThrowsClosed) {
  Store moved_from = Store::open();
  Store taker = std::move(moved_from);
  Store closed = Store::open();
  closed.close();
  closed.close();  // idempotent
  Store defaulted;
  for (Store* s : {&moved_from, &closed, &defaulted}) {
    EXPECT_FALSE(s->is_open());
    EXPECT_FALSE(static_cast<bool>(*s));
    std::vector<std::function<void()>> calls = {
        [&] { s->share(); },
        [&] { s->share(Mode::Team); },
        [&] { s->share("team"); },
        [&] { s->upsert(R"({"session_id":"x"})"); },
        [&] { s->upsert<void>(R"({"session_id":"x"})"); },
        [&] { s->upsert_many("[]"); },
        [&] { s->read("x"); },
        [&] { s->read<OwnedString>("x"); },
        [&] { s->read_into("x", nullptr, 0); },
        [&] {
          char buf[8];
          s->read_into("x", buf, sizeof buf, "u");
        },
        [&] {
          std::string out;
          s->read_into("x", out);
        },
        [&] { s->get_all_session_ids(); },
        [&] { s->get_all_sessions(); },
        [&] { s->get_recent_sessions(); },
        [&] { s->query(); },
        [&] { s->rename_session("x", "y"); },
        [&] { s->rename_session("x", "y", "u"); },
        [&] { s->delete_session("x"); },
        [&] { s->delete_session("x", "u"); },
        [&] { s->delete_sessions("[]"); },
        [&] { s->delete_sessions({"x"}); },
        [&] { s->delete_sessions({"x"}, "u"); },
        [&] { s->drop(); },
        [&] { s->stats(); },
        [&] { s->export_json(); },
        [&] { s->import_json("{}"); },
        [&] { s->sync(); },
        [&] { s->upsert_if(R"({"session_id":"x"})", 0); },
        [&] { s->upsert_if<void>(R"({"session_id":"x"})", 1); },
        [&] { s->rename_session_if("x", "y", 1); },
        [&] { s->rename_session_if("x", "y", 1, "u"); },
        [&] { s->append_runs("x", "[1]"); },
        [&] { s->append_runs<void>("x", "[1]", "u"); },
        [&] { s->delete_session_if("x", 1); },
        [&] { s->delete_session_if("x", 1, "u"); },
        [&] { s->changes(0); },
        [&] { s->changes<OwnedString>(0, 1, true); },
        [&] { s->export_with_seq(); },
        [&] { s->export_with_seq<OwnedString>(); },
    };
    for (auto& call : calls) {
      Error e = expect_error(Status::Closed, call);
      EXPECT_NE(std::string(e.what()).find("CLOSED"), std::string::npos);
      EXPECT_NE(e.message().find("closed"), std::string_view::npos);
      EXPECT_NE(e.message().find(sessionstore::status_text(Status::Closed)), std::string_view::npos);
      EXPECT_EQ(static_cast<std::uint32_t>(e.status()), static_cast<std::uint32_t>(SS_BINDING_STATUS_CLOSED));
    }
  }
  EXPECT_TRUE(taker.is_open());
  EXPECT_NO_THROW(taker.stats());
}

TEST(Move, ClosedStoreCanBeReassigned) {
  Store s;
  s = Store::open(Mode::Workflow);
  EXPECT_NO_THROW(s.upsert(R"({"session_id":"w"})"));
  s.close();
  s = Store::open();
  EXPECT_EQ(s.get_all_session_ids(), "[]");
}
