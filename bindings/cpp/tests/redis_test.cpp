// The Redis backend: Options' backend, url, namespace_ and timeouts (and the same config keys), the keys
// refused with one backend or the other, and a real round trip between two stores opened on the same
// url and namespace of a redis-server this test starts on a free loopback port, which it then kills:
// every call throws Status::Unavailable, and the store reconnects once a server is back. redis-server
// must be installed: without it the tests fail, they do not skip.
#include <sessionstore.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

using nlohmann::json;
using sessionstore::Backend;
using sessionstore::Error;
using sessionstore::Mode;
using sessionstore::Options;
using sessionstore::Status;
using sessionstore::Store;

namespace {

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

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  return addr;
}

// A loopback port free right now: the one the kernel gives a socket bound to port 0 (closed again).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr = loopback(0);
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

bool accepts_tcp(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  const sockaddr_in addr = loopback(port);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// A redis-server of its own on 127.0.0.1:port, without persistence, killed (SIGKILL) by kill() or at the
// end. start() returns an empty string when it is up, else why not.
class RedisServer {
 public:
  RedisServer() = default;
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  ~RedisServer() { kill(); }

  std::string start(int port) {
    port_ = port;
    const std::string port_arg = std::to_string(port);
    std::vector<std::string> args = {"redis-server", "--port", port_arg, "--bind", "127.0.0.1", "--save", "",
                                     "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    const int rc = ::posix_spawnp(&pid_, "redis-server", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      return std::string("cannot start redis-server (is it installed?): ") + std::strerror(rc);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "redis-server exited at once (status " + std::to_string(status) + ") on port " + port_arg;
      }
      if (accepts_tcp(port)) return "";
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill();
    return "redis-server did not accept connections on port " + port_arg + " within 20 s";
  }

  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

Options redis_options(const std::string& url, const std::string& ns) {
  Options o;
  o.backend = Backend::Redis;
  o.url = url;
  o.namespace_ = ns;
  o.connect_timeout_ms = 1000;
  o.command_timeout_ms = 5000;
  return o;
}

std::vector<std::string> ids_of(const std::string& array_json) {
  return json::parse(array_json).get<std::vector<std::string>>();
}

}  // namespace

// --- config: refused before any connection ---------------------------------------------------------

TEST(RedisConfig, BackendNames) {
  EXPECT_STREQ(sessionstore::backend_name(Backend::Local), "local");
  EXPECT_STREQ(sessionstore::backend_name(Backend::Redis), "redis");
  EXPECT_STREQ(sessionstore::backend_name(static_cast<Backend>(7)), "");
}

TEST(RedisConfig, LocalOnlyKeysAreRefusedWithRedis) {
  // Port 1 is never a Redis server: every one of these is refused before a connection is tried.
  const std::string url = "redis://127.0.0.1:1/0";
  Error e = expect_error(Status::InvalidArgument, [&] {
    Store::from_config(R"({"backend":"redis","url":")" + url + R"(","path":"/tmp/x"})");
  });
  EXPECT_EQ(e.status(), SS_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(e.message().find("path"), std::string_view::npos) << e.what();
  for (const char* key : {R"("sync":"os")", R"("sync_interval_ms":5)", R"("compact_factor":3)",
                          R"("compact_min_bytes":1)", R"("max_sessions":1)", R"("max_bytes":1)",
                          R"("user_max_sessions":1)", R"("user_max_bytes":1)", R"("when_full":"refuse")",
                          R"("sync":"interval")", R"("max_sessions":0)"}) {
    SCOPED_TRACE(key);
    expect_error(Status::InvalidArgument,
                 [&] { Store::from_config(R"({"backend":"redis","url":")" + url + "\"," + key + "}"); });
  }
  // The same through Options.
  Options durable = redis_options(url, "ns");
  durable.durability = sessionstore::Durability{"/tmp/x"};
  expect_error(Status::InvalidArgument, [&] { Store::open(durable); });
  Options bounded = redis_options(url, "ns");
  bounded.max_sessions = 10;
  expect_error(Status::InvalidArgument, [&] { Store::open(bounded); });
  Options refuse = redis_options(url, "ns");
  refuse.when_full = sessionstore::WhenFull::Refuse;
  expect_error(Status::InvalidArgument, [&] { Store::open(refuse); });
}

TEST(RedisConfig, RedisKeysAreRefusedWithoutRedisAndBadValues) {
  for (const char* config : {R"({"url":"redis://127.0.0.1:1/0"})", R"({"namespace":"ns"})",
                             R"({"connect_timeout_ms":5})", R"({"command_timeout_ms":5})",
                             R"({"backend":"local","url":"redis://127.0.0.1:1/0"})",
                             R"({"backend":"redis"})", R"({"backend":"memcached"})",
                             R"({"backend":"redis","url":"redis://127.0.0.1:1/0","namespace":""})",
                             R"({"backend":"redis","url":"redis://127.0.0.1:1/0","connect_timeout_ms":0})",
                             R"({"backend":"redis","url":"redis://127.0.0.1:1/0","command_timeout_ms":0})"}) {
    SCOPED_TRACE(config);
    expect_error(Status::InvalidArgument, [&] { Store::from_config(config); });
  }
  Options local;
  EXPECT_NO_THROW(Store::open(local)) << "a local store's Options carry the Redis defaults, which pass";
  local.url = "redis://127.0.0.1:1/0";
  Error e = expect_error(Status::InvalidArgument, [&] { Store::open(local); });
  EXPECT_NE(e.message().find("url"), std::string_view::npos) << e.what();
  Options ns;
  ns.namespace_ = "ns";
  expect_error(Status::InvalidArgument, [&] { Store::open(ns); });
  Options timeout;
  timeout.command_timeout_ms = 1;
  expect_error(Status::InvalidArgument, [&] { Store::open(timeout); });
  Options no_url = redis_options("", "ns");
  e = expect_error(Status::InvalidArgument, [&] { Store::open(no_url); });
  EXPECT_NE(e.message().find("url"), std::string_view::npos) << e.what();
  Options long_ns = redis_options("redis://127.0.0.1:1/0", std::string(129, 'n'));
  expect_error(Status::InvalidArgument, [&] { Store::open(long_ns); });
  Options zero = redis_options("redis://127.0.0.1:1/0", "ns");
  zero.connect_timeout_ms = 0;
  expect_error(Status::InvalidArgument, [&] { Store::open(zero); });
  Options bad_backend;
  bad_backend.backend = static_cast<Backend>(7);
  e = expect_error(Status::InvalidArgument, [&] { Store::open(bad_backend); });
  EXPECT_NE(e.message().find("Options::backend"), std::string_view::npos) << e.what();
}

// --- a real server -----------------------------------------------------------------------------------

TEST(RedisServer, TwoStoresShareSessionsThenUnavailableThenReconnect) {
  const int port = free_port();
  ASSERT_GT(port, 0) << "no free loopback port";
  RedisServer server;
  const std::string why = server.start(port);
  ASSERT_EQ(why, "") << why;
  const std::string ns = "cpp-test-" + std::to_string(::getpid());

  // Two stores opened on their own (not share()d) on the same url and namespace: one server's data.
  Store writer = Store::open(redis_options(server.url(), ns));
  Store reader = Store::from_config(R"({"backend":"redis","url":")" + server.url() + R"(","namespace":")" + ns +
                                    R"(","connect_timeout_ms":1000,"command_timeout_ms":5000})");
  const json stored = writer.upsert(
      json{{"session_id", "s1"}, {"user_id", "ava"}, {"agent_id", "a1"}, {"session_data", {{"n", 1}}}});
  EXPECT_EQ(stored["version"], 1);
  writer.upsert<void>(R"({"session_id":"s2","user_id":"bob","agent_id":"a1"})");

  const std::optional<json> read = reader.read<json>("s1");
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ((*read)["user_id"], "ava");
  EXPECT_EQ((*read)["session_data"]["n"], 1);
  EXPECT_EQ(*read, stored);
  EXPECT_FALSE(reader.read("absent").has_value());
  std::vector<std::string> ids = ids_of(reader.get_all_session_ids());
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"s1", "s2"}));
  EXPECT_EQ(ids_of(reader.get_all_session_ids("ava")), (std::vector<std::string>{"s1"}));
  const json all = reader.get_all_sessions<json>("bob");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["session_id"], "s2");

  // A write through the reader is seen by the writer (versions are the server's).
  reader.upsert<void>(R"({"session_id":"s1","user_id":"ava","agent_id":"a1","session_data":{"n":2}})");
  EXPECT_EQ(writer.read<json>("s1").value()["session_data"]["n"], 2);
  EXPECT_EQ(writer.read<json>("s1").value()["version"], 3);
  // Another namespace on the same server sees nothing of it.
  Store other = Store::open(redis_options(server.url(), ns + "-other"));
  EXPECT_EQ(other.get_all_session_ids(), "[]");

  // The server goes away: every call throws Unavailable.
  server.kill();
  Error e = expect_error(Status::Unavailable, [&] { reader.read("s1"); });
  EXPECT_EQ(e.status(), SS_STATUS_UNAVAILABLE);
  EXPECT_EQ(std::string(e.what()).rfind("sessionstore: UNAVAILABLE: ", 0), 0u) << e.what();
  expect_error(Status::Unavailable, [&] { writer.upsert(R"({"session_id":"s3"})"); });
  expect_error(Status::Unavailable, [&] { reader.get_all_session_ids(); });
  expect_error(Status::Unavailable, [&] { Store::open(redis_options(server.url(), ns)); });

  // A server back on the same port (empty: no persistence): the same store reconnects by itself.
  RedisServer again;
  const std::string why_again = again.start(port);
  ASSERT_EQ(why_again, "") << why_again;
  bool reconnected = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!reconnected && std::chrono::steady_clock::now() < deadline) {
    try {
      writer.upsert<void>(R"({"session_id":"s4","user_id":"ava"})");
      reconnected = true;
    } catch (const Error& err) {
      ASSERT_EQ(err.code(), Status::Unavailable) << err.what();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ASSERT_TRUE(reconnected) << "the store did not reconnect within 15 s";
  EXPECT_EQ(ids_of(reader.get_all_session_ids()), (std::vector<std::string>{"s4"}));
}

// Expiry on Redis is the namespace's: the first store records its settings, a store with others is
// refused while the namespace holds sessions.
TEST(RedisServer, ExpirySettingsAreTheNamespaces) {
  const int port = free_port();
  ASSERT_GT(port, 0) << "no free loopback port";
  RedisServer server;
  const std::string why = server.start(port);
  ASSERT_EQ(why, "") << why;
  const std::string ns = "cpp-expiry-" + std::to_string(::getpid());
  Options expiring = redis_options(server.url(), ns);
  expiring.idle_expiry_s = 60;
  expiring.refresh_on_read = true;
  Store store = Store::open(expiring);
  store.upsert<void>(R"({"session_id":"s1","user_id":"ava"})");
  EXPECT_TRUE(store.read("s1").has_value());
  const json bounds = json::parse(store.stats())["bounds"];
  EXPECT_EQ(bounds["idle_expiry_s"], 60);
  EXPECT_EQ(bounds["refresh_on_read"], true);
  Options other = redis_options(server.url(), ns);
  other.idle_expiry_s = 30;
  Error e = expect_error(Status::InvalidArgument, [&] { Store::open(other); });
  EXPECT_NE(e.message().find("idle_expiry_s=60"), std::string_view::npos) << e.what();
}
