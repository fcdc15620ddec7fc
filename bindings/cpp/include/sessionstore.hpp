// sessionstore.hpp: header-only C++17 binding of the sessionstore C ABI (sessionstore.h).
//
//   #include <sessionstore.hpp>
//
//   auto store = sessionstore::Store::open();                       // an agent store, in memory
//   store.upsert(R"({"session_id":"s1","user_id":"u1","agent_id":"a1"})");
//   std::optional<std::string> s = store.read("s1");               // std::nullopt when absent
//   auto disk = sessionstore::Store::open(sessionstore::Mode::Agent, sessionstore::Durability{"/var/lib/app"});
//
// Design:
//  - sessionstore::Store is move-only and owns its ss_store handle through a std::unique_ptr whose
//    deleter calls ss_store_close(). Copies do not compile; moves transfer the handle. A moved-from,
//    default-constructed or close()d Store throws sessionstore::Error with code() == Status::Closed
//    instead of handing a dangling pointer to the library.
//  - Every failure throws sessionstore::Error (a std::runtime_error) carrying the library's status and
//    message. The exceptions are read() and read_into(), which report SS_STATUS_NOT_FOUND as
//    std::nullopt (read_into() into a std::string: as false).
//  - Payloads (sessions, arrays, queries, configs, exports) are std::string_view and go to the library
//    as pointer + length, without a copy. Ids, user ids, entity ids, names and modes must be
//    NUL-terminated for the C API: a const char* or a std::string is passed as is; a std::string_view is
//    copied into a small stack buffer (heap only past 127 bytes).
//  - Every string the library returns is held by an OwnedString (a std::unique_ptr whose deleter is
//    ss_string_free) until it has been copied or parsed, so it is freed even when that throws.
//  - Methods that return JSON take the result type as a template argument, std::string by default:
//      R = std::string                 a copy (the default)
//      R = sessionstore::OwnedString   the library's own buffer, no copy (view(), c_str(), str())
//      R = nlohmann::json / nlohmann::ordered_json   parsed (when <nlohmann/json.hpp> is available)
//      R = void                        (upsert, upsert_if, upsert_many, rename_session, rename_session_if,
//                                      append_runs) the result is not produced
//    read_into() reads one session into the caller's buffer instead (a char* and its capacity, or a
//    std::string whose capacity it reuses), so that a loop of reads allocates nothing.
//    When <nlohmann/json.hpp> can be included (and SESSIONSTORE_NO_NLOHMANN is not defined), the methods
//    taking a JSON payload also accept a nlohmann::json (or ordered_json) and then return one.
//  - nlohmann::json cannot hold every value the store keeps verbatim in free-form fields: numbers out of
//    double's range (1e400) and lone surrogate escapes ("\ud800") make its parser throw. Such a result
//    throws sessionstore::Error with Status::InvalidJson ("the stored JSON cannot be represented by
//    nlohmann::json: ..."), for the whole result: one such session fails a listing, a query or an
//    export. Ask for std::string or OwnedString to get it. Nested duplicate keys, which the store keeps
//    too, do not throw: nlohmann keeps the last one. A nlohmann::json argument holding invalid UTF-8,
//    which its dump() refuses, throws Error with Status::InvalidArgument before the library is called.
//  - Who may write what is the library's rule, not the binding's: upsert/upsert_many of a session whose
//    stored user_id is set and differs from the input's throw Error(Status::PermissionDenied) and change
//    nothing; import_json is exempt; rename_session(_if), append_runs, delete_session(_if) and
//    delete_sessions take an optional last user id (absent, std::nullopt or empty: any session; given:
//    only that user's).
//  - query() passes its JSON through: every ss_query key ("session_type", "fields"...) is available.
//  - Durable stores: open(mode, Durability{path, sync, ...}) keeps the store in a directory, which one
//    open store owns at a time (another open of it throws Status::Locked); sync() fsyncs the journal;
//    closing the last handle fsyncs it and releases the directory. stats() has a "durability" member.
//  - Versions and the change feed: the store sets every session's "version" member (the number of the
//    change that last wrote it). upsert_if, rename_session_if and delete_session_if write only when the
//    stored version is the one expected (0: no such session), else throw Status::VersionMismatch and
//    change nothing: optimistic concurrency for a read-modify-write. append_runs adds runs to a
//    transcript atomically, with no retry. changes(after) lists the changes after a number; export_with_seq
//    gives an export and its number, to mirror a store (Status::FeedTruncated: start again from it). The
//    feed and stats() carry the store's identity ("store"): numbers start again from 1 in a store made
//    anew, so a follower keeps it with its number and starts again from an export when it changes.
//    Options opens a store with every option, feed_bytes included.
//  - Redis stores: Options with backend = Backend::Redis and url = "redis://host:port/db" (or the config keys
//    "backend", "url", "namespace", "connect_timeout_ms", "command_timeout_ms") keeps the sessions on a
//    Redis 7+ server, shared by every store opened on the same url and namespace. When the server cannot
//    be used (unreachable, timeout, loading, out of memory, read-only) a call throws Status::Unavailable
//    and changed nothing unless the message says the reply was lost; the store reconnects by itself.
//  - Bounded memory: Options also carries the bounds of a store (idle_expiry_s, max_age_s,
//    refresh_on_read, max_sessions, max_bytes, user_max_sessions, user_max_bytes, when_full; 0 is no
//    bound). An expired session is gone for every call (read() gives std::nullopt, listings, queries and
//    exports leave it out); a write that would exceed a bound evicts the least recently written sessions
//    (WhenFull::Evict) or throws Status::Full and changes nothing (WhenFull::Refuse). Expiries and
//    evictions are changes of the feed (ops "expire" and "evict"); stats() has a "bounds" member.
//  - Thread safety: the library's handles are thread-safe, so any number of threads may call methods
//    on the same Store object at once. Moving, assigning or close()-ing a Store while another thread
//    uses it is a data race (as for any C++ object).
#ifndef SESSIONSTORE_HPP
#define SESSIONSTORE_HPP

#if !defined(__cplusplus) || (__cplusplus < 201703L && (!defined(_MSVC_LANG) || _MSVC_LANG < 201703L))
#error "sessionstore.hpp needs C++17 or later"
#endif

#include "sessionstore.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#if !defined(SESSIONSTORE_NO_NLOHMANN) && defined(__has_include)
#if __has_include(<nlohmann/json.hpp>)
#include <nlohmann/json.hpp>
#define SESSIONSTORE_HAS_NLOHMANN 1
#endif
#endif
#ifndef SESSIONSTORE_HAS_NLOHMANN
#define SESSIONSTORE_HAS_NLOHMANN 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SESSIONSTORE_COLD __attribute__((cold, noinline))
#else
#define SESSIONSTORE_COLD
#endif

namespace sessionstore {

// ---------------------------------------------------------------------------------------------------
// Versions

/// The version of the headers this program was compiled with, e.g. "0.4.0".
inline constexpr std::string_view header_version = SS_VERSION_STRING;
inline constexpr int header_version_major = SS_VERSION_MAJOR;
inline constexpr int header_version_minor = SS_VERSION_MINOR;
inline constexpr int header_version_patch = SS_VERSION_PATCH;
inline constexpr long header_version_number = SS_VERSION_NUMBER;

/// The version of the library loaded at run time (ss_version()); equal to header_version when the
/// header and the library match.
inline std::string_view version() noexcept { return std::string_view(ss_version()); }

// ---------------------------------------------------------------------------------------------------
// Limits (the header's constants; the library applies them)

/// The max_session_bytes a store gets when its config does not set one (SS_DEFAULT_MAX_SESSION_BYTES).
inline constexpr std::size_t default_max_session_bytes = SS_DEFAULT_MAX_SESSION_BYTES;
/// The deepest nesting of arrays and objects accepted in one session, query, config or list of ids
/// (SS_MAX_DEPTH).
inline constexpr int max_depth = SS_MAX_DEPTH;
/// A durable store's defaults: the period of SyncPolicy::Interval in milliseconds
/// (SS_DEFAULT_SYNC_INTERVAL_MS), and the compaction trigger (SS_DEFAULT_COMPACT_FACTOR,
/// SS_DEFAULT_COMPACT_MIN_BYTES).
inline constexpr std::uint64_t default_sync_interval_ms = SS_DEFAULT_SYNC_INTERVAL_MS;
inline constexpr std::uint64_t default_compact_factor = SS_DEFAULT_COMPACT_FACTOR;
inline constexpr std::uint64_t default_compact_min_bytes = SS_DEFAULT_COMPACT_MIN_BYTES;
/// The feed_bytes a store gets when its config does not set one (SS_DEFAULT_FEED_BYTES, 16 MiB): how much
/// of the change feed (Store::changes()) it keeps.
inline constexpr std::uint64_t default_feed_bytes = SS_DEFAULT_FEED_BYTES;
/// The most changes one Store::changes() call returns, whatever its limit (SS_MAX_CHANGES).
inline constexpr std::size_t max_changes = SS_MAX_CHANGES;
/// A Redis store's defaults (Options::connect_timeout_ms, Options::command_timeout_ms): how long it waits
/// to connect to its server (SS_DEFAULT_CONNECT_TIMEOUT_MS, 2 s) and for one reply
/// (SS_DEFAULT_COMMAND_TIMEOUT_MS, 10 s; a listing of a whole large store is one reply).
inline constexpr std::uint64_t default_connect_timeout_ms = SS_DEFAULT_CONNECT_TIMEOUT_MS;
inline constexpr std::uint64_t default_command_timeout_ms = SS_DEFAULT_COMMAND_TIMEOUT_MS;

// ---------------------------------------------------------------------------------------------------
// Status and Error

/// The status of a failed call. Every value but Closed is the library's ss_status enumerator of the
/// same name. Closed is SS_BINDING_STATUS_CLOSED, the number every binding (C++, Go, Node) reports for a
/// call on a handle it has closed and which the C library never returns: this binding reports it for a
/// Store that no longer owns a handle (moved from, closed or default-constructed). Other values may come
/// from a newer library: treat them as errors.
enum class Status : std::uint32_t {
  Ok = static_cast<std::uint32_t>(SS_STATUS_OK),
  NotFound = static_cast<std::uint32_t>(SS_STATUS_NOT_FOUND),
  InvalidArgument = static_cast<std::uint32_t>(SS_STATUS_INVALID_ARGUMENT),
  InvalidJson = static_cast<std::uint32_t>(SS_STATUS_INVALID_JSON),
  InvalidSession = static_cast<std::uint32_t>(SS_STATUS_INVALID_SESSION),
  Conflict = static_cast<std::uint32_t>(SS_STATUS_CONFLICT),
  TooLarge = static_cast<std::uint32_t>(SS_STATUS_TOO_LARGE),
  Internal = static_cast<std::uint32_t>(SS_STATUS_INTERNAL),
  PermissionDenied = static_cast<std::uint32_t>(SS_STATUS_PERMISSION_DENIED),
  Io = static_cast<std::uint32_t>(SS_STATUS_IO),
  Locked = static_cast<std::uint32_t>(SS_STATUS_LOCKED),
  Corrupt = static_cast<std::uint32_t>(SS_STATUS_CORRUPT),
  Poisoned = static_cast<std::uint32_t>(SS_STATUS_POISONED),
  /// A conditional write (upsert_if, rename_session_if, delete_session_if) expected another version than
  /// the stored one: another writer came first, nothing was changed; read again and retry.
  VersionMismatch = static_cast<std::uint32_t>(SS_STATUS_VERSION_MISMATCH),
  /// changes() was asked for changes after a number the feed no longer holds (or that this store never
  /// reached): start again from export_with_seq().
  FeedTruncated = static_cast<std::uint32_t>(SS_STATUS_FEED_TRUNCATED),
  /// A write would take the store past a bound (Options::max_sessions, max_bytes) or a user past a quota
  /// (user_max_sessions, user_max_bytes) of a store opened with WhenFull::Refuse, or the write alone
  /// cannot fit under the bound (under either policy). Nothing was changed; the message names the bound.
  Full = static_cast<std::uint32_t>(SS_STATUS_FULL),
  /// A Redis store's server cannot be used (Backend::Redis): it is unreachable, did not answer within
  /// Options::command_timeout_ms, is loading or restarting, is out of memory (maxmemory) or is a read-only
  /// replica. Nothing was changed, unless the message says the reply was lost (a timeout or a dropped
  /// connection after the command was sent): then the change may have been applied, and a conditional
  /// write (upsert_if) is the way to retry safely. The store reconnects by itself on a later call.
  Unavailable = static_cast<std::uint32_t>(SS_STATUS_UNAVAILABLE),
  Closed = static_cast<std::uint32_t>(SS_BINDING_STATUS_CLOSED),
};

/// The status' name as in the C header without its prefix: "NOT_FOUND", "CLOSED", "UNKNOWN"...
constexpr std::string_view status_name(Status s) noexcept {
  switch (s) {
    case Status::Ok: return "OK";
    case Status::NotFound: return "NOT_FOUND";
    case Status::InvalidArgument: return "INVALID_ARGUMENT";
    case Status::InvalidJson: return "INVALID_JSON";
    case Status::InvalidSession: return "INVALID_SESSION";
    case Status::Conflict: return "CONFLICT";
    case Status::TooLarge: return "TOO_LARGE";
    case Status::Internal: return "INTERNAL";
    case Status::PermissionDenied: return "PERMISSION_DENIED";
    case Status::Io: return "IO";
    case Status::Locked: return "LOCKED";
    case Status::Corrupt: return "CORRUPT";
    case Status::Poisoned: return "POISONED";
    case Status::VersionMismatch: return "VERSION_MISMATCH";
    case Status::FeedTruncated: return "FEED_TRUNCATED";
    case Status::Full: return "FULL";
    case Status::Unavailable: return "UNAVAILABLE";
    case Status::Closed: return "CLOSED";
  }
  return "UNKNOWN";
}

/// The library's English text for a status (ss_status_str): "not found", "closed", "unknown status"...
inline std::string_view status_text(Status s) noexcept {
  return std::string_view(ss_status_str(static_cast<std::uint32_t>(s)));
}

/// What every failing call throws. what() is "sessionstore: <STATUS_NAME>: <message>"; message() is the
/// library's own message (or, when it gave none, its text for the status).
class Error : public std::runtime_error {
 public:
  Error(Status code, std::string_view message)
      : std::runtime_error(format(code, message)), code_(code), prefix_(prefix_size(code)) {}

  /// The status as this binding's enum.
  Status code() const noexcept { return code_; }
  /// The status as the C API's ss_status (Closed is SS_BINDING_STATUS_CLOSED, which the library never returns).
  ss_status status() const noexcept { return static_cast<ss_status>(static_cast<std::uint32_t>(code_)); }
  /// The library's message, without the "sessionstore: STATUS: " prefix of what().
  std::string_view message() const noexcept { return std::string_view(what()).substr(prefix_); }

 private:
  static constexpr std::string_view kPrefix = "sessionstore: ";
  static std::size_t prefix_size(Status code) noexcept {
    return kPrefix.size() + status_name(code).size() + 2;
  }
  static std::string format(Status code, std::string_view message) {
    std::string_view name = status_name(code);
    std::string s;
    s.reserve(prefix_size(code) + message.size());
    s.append(kPrefix).append(name).append(": ").append(message);
    return s;
  }

  Status code_;
  std::size_t prefix_;
};

// ---------------------------------------------------------------------------------------------------
// OwnedString: a string returned by the library, freed with ss_string_free.

namespace detail {
struct StringFree {
  void operator()(char* s) const noexcept { ss_string_free(s); }
};
}  // namespace detail

/// Owns a NUL-terminated string allocated by the library and frees it with ss_string_free(). Move-only.
/// Use it as a result type (e.g. store.read<sessionstore::OwnedString>(id)) to read without a copy.
class OwnedString {
 public:
  OwnedString() noexcept = default;
  /// Takes ownership of `s` (which must come from this library, or be NULL); `size` is its strlen.
  OwnedString(char* s, std::size_t size) noexcept : ptr_(s), size_(s ? size : 0) {}
  /// Takes ownership of `s` (from this library, or NULL), measuring it.
  explicit OwnedString(char* s) noexcept : ptr_(s), size_(s ? std::strlen(s) : 0) {}

  OwnedString(OwnedString&& other) noexcept
      : ptr_(std::move(other.ptr_)), size_(std::exchange(other.size_, 0)) {}
  OwnedString& operator=(OwnedString&& other) noexcept {
    ptr_ = std::move(other.ptr_);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }
  OwnedString(const OwnedString&) = delete;
  OwnedString& operator=(const OwnedString&) = delete;

  const char* data() const noexcept { return ptr_ ? ptr_.get() : ""; }
  const char* c_str() const noexcept { return data(); }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::string_view view() const noexcept { return std::string_view(data(), size_); }
  operator std::string_view() const noexcept { return view(); }
  /// A copy as a std::string.
  std::string str() const { return std::string(data(), size_); }
  /// Gives up ownership; the caller must free the result with ss_string_free().
  char* release() noexcept {
    size_ = 0;
    return ptr_.release();
  }

  friend bool operator==(const OwnedString& a, std::string_view b) noexcept { return a.view() == b; }
  friend bool operator==(std::string_view a, const OwnedString& b) noexcept { return a == b.view(); }
  friend bool operator!=(const OwnedString& a, std::string_view b) noexcept { return a.view() != b; }
  friend bool operator!=(std::string_view a, const OwnedString& b) noexcept { return a != b.view(); }

 private:
  std::unique_ptr<char, detail::StringFree> ptr_;
  std::size_t size_ = 0;
};

// ---------------------------------------------------------------------------------------------------
// CStrArg: how ids, names and modes are passed.

/// A NUL-terminated argument for the C API, built implicitly from:
///  - const char*: used as is (NULL means "absent": no filter, any user, or the default mode);
///  - const std::string&: its c_str() is used as is (after checking it holds no NUL byte);
///  - std::string_view: copied into an inline buffer (or the heap past 127 bytes) and terminated;
///  - std::nullopt, or a std::optional of any of these: absent when empty (as NULL), else its value.
/// An argument with an embedded NUL byte throws Error(Status::InvalidArgument). For filters (user_id,
/// entity_id) an empty string means "no filter", as in the C API. Only use it as a parameter type.
class CStrArg {
 public:
  CStrArg() noexcept : ptr_(nullptr) {}
  CStrArg(std::nullptr_t) noexcept : ptr_(nullptr) {}
  CStrArg(const char* s) noexcept : ptr_(s) {}
  CStrArg(const std::string& s) : ptr_(s.c_str()) { check(s); }
  CStrArg(std::string_view s) : ptr_(nullptr) { copy(s); }
  CStrArg(std::nullopt_t) noexcept : ptr_(nullptr) {}
  template <class T, std::enable_if_t<std::is_same_v<T, const char*> || std::is_same_v<T, std::string> ||
                                          std::is_same_v<T, std::string_view>,
                                      int> = 0>
  CStrArg(const std::optional<T>& s) : ptr_(nullptr) {
    if (!s) return;
    if constexpr (std::is_same_v<T, std::string_view>) {
      copy(*s);
    } else if constexpr (std::is_same_v<T, std::string>) {
      check(*s);
      ptr_ = s->c_str();
    } else {
      ptr_ = *s;
    }
  }
  CStrArg(const CStrArg&) = delete;
  CStrArg& operator=(const CStrArg&) = delete;

  /// The NUL-terminated string, or NULL when absent.
  const char* get() const noexcept { return ptr_; }

 private:
  static void check(std::string_view s) {
    if (!s.empty() && std::memchr(s.data(), '\0', s.size()) != nullptr) throw_nul();
  }
  void copy(std::string_view s) {
    check(s);
    char* dst = small_;
    if (s.size() >= sizeof(small_)) {
      heap_.reset(new char[s.size() + 1]);
      dst = heap_.get();
    }
    if (!s.empty()) std::memcpy(dst, s.data(), s.size());
    dst[s.size()] = '\0';
    ptr_ = dst;
  }
  [[noreturn]] SESSIONSTORE_COLD static void throw_nul() {
    throw Error(Status::InvalidArgument, "an id, name or mode argument contains a NUL byte");
  }

  const char* ptr_;
  std::unique_ptr<char[]> heap_;
  char small_[128];
};

// ---------------------------------------------------------------------------------------------------
// Mode

/// The session type a handle reads and writes.
enum class Mode { Agent, Team, Workflow, WorkflowV2 };

/// "agent", "team", "workflow" or "workflow_v2".
constexpr const char* mode_name(Mode m) noexcept {
  switch (m) {
    case Mode::Agent: return "agent";
    case Mode::Team: return "team";
    case Mode::Workflow: return "workflow";
    case Mode::WorkflowV2: return "workflow_v2";
  }
  return "agent";
}

/// What a store does with NaN, Infinity and -Infinity, which are not JSON but which Python's json.dumps
/// writes (the config key "non_finite_numbers").
enum class NonFiniteNumbers {
  Reject,  ///< the default: such input throws Error(Status::InvalidJson), naming the word and the key
  Null,    ///< each is stored (and so exported) as null
};

/// "reject" or "null".
constexpr const char* non_finite_numbers_name(NonFiniteNumbers n) noexcept {
  switch (n) {
    case NonFiniteNumbers::Reject: return "reject";
    case NonFiniteNumbers::Null: return "null";
  }
  return "reject";
}

/// When a durable store fsyncs its journal (the config key "sync"), and so what a crash loses.
enum class SyncPolicy {
  Always,    ///< the default: before each mutation returns (threads writing at once share one fsync)
  Interval,  ///< every Durability::sync_interval_ms, from a background thread
  Os,        ///< only on close, compaction and Store::sync(); the kernel writes back when it chooses
};

/// "always", "interval" or "os".
constexpr const char* sync_policy_name(SyncPolicy p) noexcept {
  switch (p) {
    case SyncPolicy::Always: return "always";
    case SyncPolicy::Interval: return "interval";
    case SyncPolicy::Os: return "os";
  }
  return "always";
}

/// What makes a store durable (the config keys "path", "sync", "sync_interval_ms", "compact_factor" and
/// "compact_min_bytes"; see ss_store_open() in sessionstore.h). An aggregate:
/// `Durability{"/var/lib/app"}`, `Durability{dir, SyncPolicy::Interval, 200}`.
struct Durability {
  /// The directory (created if missing). Opening loads what it holds; one open store owns it at a time.
  std::string path;
  SyncPolicy sync = SyncPolicy::Always;
  /// The period of SyncPolicy::Interval, at least 1.
  std::uint64_t sync_interval_ms = default_sync_interval_ms;
  /// A snapshot is written (in the background) when the journal since the last one exceeds both the live
  /// sessions' bytes times compact_factor (at least 1) and compact_min_bytes.
  std::uint64_t compact_factor = default_compact_factor;
  std::uint64_t compact_min_bytes = default_compact_min_bytes;
};

/// What a store does when a write would exceed one of its bounds (Options::max_sessions, max_bytes,
/// user_max_sessions, user_max_bytes; the config key "when_full").
enum class WhenFull {
  /// The default: the write evicts the least recently written sessions first (with refresh_on_read,
  /// a session read since it was last written gets a second chance, as the CLOCK algorithm approximates
  /// least recently used); for a user over a quota, that user's own. The session a write replaces is
  /// never evicted to make room for it.
  Evict,
  /// The write throws Error(Status::Full) and nothing changes.
  Refuse,
};

/// "evict" or "refuse" (the config value); "" for a value that names neither (Store::open(const Options&)
/// throws Status::InvalidArgument for it).
constexpr const char* when_full_name(WhenFull w) noexcept {
  switch (w) {
    case WhenFull::Evict: return "evict";
    case WhenFull::Refuse: return "refuse";
  }
  return "";
}

/// Where a store's data lives (the config key "backend").
enum class Backend {
  /// The default: in this process, in memory or durable (Options::durability).
  Local,
  /// On a Redis 7+ (or Valkey) server (Options::url), shared by every store, in this process or another,
  /// opened on the same url and Options::namespace_. Opening connects to the server (Status::Unavailable
  /// when it cannot). Durability is the server's own (appendonly, save): Options::durability, the
  /// capacity bounds (max_sessions, max_bytes, user_max_sessions, user_max_bytes, when_full) throw
  /// Status::InvalidArgument when set. Expiry (idle_expiry_s, max_age_s, refresh_on_read) works, and is
  /// the namespace's: a store opened with other settings than the namespace's throws
  /// Status::InvalidArgument while the namespace holds sessions.
  Redis,
};

/// "local" or "redis" (the config value); "" for a value that names neither (Store::open(const Options&)
/// throws Status::InvalidArgument for it).
constexpr const char* backend_name(Backend b) noexcept {
  switch (b) {
    case Backend::Local: return "local";
    case Backend::Redis: return "redis";
  }
  return "";
}

/// Every option of a new store (the config keys of ss_store_open()) in one aggregate, each defaulting to
/// the header's value; Store::open(const Options&) opens it. The only typed way to set feed_bytes and the
/// bounds:
///   sessionstore::Options options;
///   options.mode = sessionstore::Mode::Team;
///   options.feed_bytes = 1 << 20;
///   options.durability = sessionstore::Durability{"/var/lib/app"};
///   options.idle_expiry_s = 3600;                 // sessions idle for an hour expire
///   options.max_bytes = 256u << 20;               // evict the least recently written past 256 MiB
///   sessionstore::Store store = sessionstore::Store::open(options);
/// A store on a Redis server, shared with every process that opens the same url and namespace:
///   sessionstore::Options shared;
///   shared.backend = sessionstore::Backend::Redis;
///   shared.url = "redis://127.0.0.1:6379/0";
///   shared.namespace_ = "chat";                  // default "sessionstore"
///   sessionstore::Store redis = sessionstore::Store::open(shared);
/// (C++20: `Store::open({.mode = Mode::Team, .feed_bytes = 0, .max_sessions = 1000})`: designators in
/// the order of the members.)
///
/// Bounds (all 0, i.e. none, by default; see "Bounds" at ss_store_open() in sessionstore.h): an expired
/// session is gone for every call from the moment it expires (read() gives std::nullopt; listings,
/// queries, exports and deletes leave it out; a write stores a new session in its place) and its memory
/// is reclaimed within about a second by a thread of the store. A write that would exceed max_sessions,
/// max_bytes or a user's quota evicts (WhenFull::Evict) or throws Status::Full (WhenFull::Refuse); a
/// write that cannot fit even in an empty store (or an empty quota) throws Status::Full under either
/// policy. Expiries and evictions are changes of the feed ("expire", "evict"), journaled in a durable
/// store, and counted by stats()'s "bounds".
struct Options {
  /// The type of the sessions the handle reads and writes (the config key "mode").
  Mode mode = Mode::Agent;
  /// The largest session accepted, in bytes ("max_session_bytes").
  std::size_t max_session_bytes = default_max_session_bytes;
  /// What NaN, Infinity and -Infinity in the input become ("non_finite_numbers").
  NonFiniteNumbers non_finite_numbers = NonFiniteNumbers::Reject;
  /// How much of the change feed the store keeps, in bytes of the changes' JSON plus 48 a change
  /// ("feed_bytes"); 0 keeps none. See Store::changes().
  std::uint64_t feed_bytes = default_feed_bytes;
  /// Set: a durable store in durability->path (and the other durability keys). Empty: in memory.
  std::optional<Durability> durability = std::nullopt;
  /// A session not written for more than this many seconds (by its "updated_at"; with refresh_on_read, nor read)
  /// expires ("idle_expiry_s"); 0: never.
  std::uint64_t idle_expiry_s = 0;
  /// A session whose "created_at" is more than this many seconds old expires, however active ("max_age_s"); 0: never.
  std::uint64_t max_age_s = 0;
  /// Whether read() refreshes a session's idle time too ("refresh_on_read"; listings and queries do not).
  /// Needs idle_expiry_s, else opening throws InvalidArgument. Reads are remembered in memory only: after a
  /// durable store reopens, a session's idle time counts from its "updated_at".
  bool refresh_on_read = false;
  /// The most sessions the store holds, of every type ("max_sessions"); 0: no bound.
  std::size_t max_sessions = 0;
  /// The most bytes of stored JSON the store holds, of every type ("max_bytes"; the process holds about
  /// 1.3 times that); 0: no bound.
  std::size_t max_bytes = 0;
  /// The most sessions of each "user_id" ("user_max_sessions"; sessions without one are not counted), so
  /// that one user cannot crowd out the others; 0: no quota.
  std::size_t user_max_sessions = 0;
  /// The most bytes of stored JSON of each "user_id" ("user_max_bytes"); 0: no quota.
  std::size_t user_max_bytes = 0;
  /// What a write that would exceed a bound or a quota does ("when_full"): evict, or throw Status::Full.
  WhenFull when_full = WhenFull::Evict;
  /// Where the data lives ("backend"): Backend::Local (in this process) or Backend::Redis (on the server
  /// at url). The members below are Redis's: with Backend::Local, setting any of them throws
  /// InvalidArgument.
  Backend backend = Backend::Local;
  /// The Redis server ("url"), as `redis://[user:password@]host:port/db` (`rediss://` for TLS). Required
  /// with Backend::Redis (empty: opening throws InvalidArgument).
  std::string url = std::string();
  /// The namespace of the Redis store's keys ("namespace"), 1 to 128 bytes: stores opened on the same url
  /// and namespace share their sessions. Empty optional: "sessionstore". (`namespace` is a keyword.)
  std::optional<std::string> namespace_ = std::nullopt;
  /// How long a Redis store waits to connect to its server, in milliseconds, at least 1
  /// ("connect_timeout_ms").
  std::uint64_t connect_timeout_ms = default_connect_timeout_ms;
  /// How long a Redis store waits for one reply of its server, in milliseconds, at least 1
  /// ("command_timeout_ms"); past it the call throws Status::Unavailable (the reply was lost: the change
  /// may have been applied).
  std::uint64_t command_timeout_ms = default_command_timeout_ms;
};

/// What Store::export_with_seq() returns: the export ({"<id>": session, ...}) as R (std::string,
/// sessionstore::OwnedString or nlohmann::json) and the number of the last change it holds. Follow the
/// store from there with changes(seq): nothing is missed and nothing is seen twice. The number is the
/// store's own: keep the store's identity with it (the "store" member of changes(), and of stats()'s
/// "feed"), and start again from an export when the identity changes.
template <class R = std::string>
struct ExportWithSeq {
  R json;
  std::uint64_t seq = 0;
};

/// Passed as `limit` to get_recent_sessions for "every session".
inline constexpr std::int64_t all = -1;

// ---------------------------------------------------------------------------------------------------
// detail

namespace detail {

template <class T>
inline constexpr bool always_false = false;

#if SESSIONSTORE_HAS_NLOHMANN
template <class J>
inline constexpr bool is_json = std::is_same_v<J, nlohmann::json> || std::is_same_v<J, nlohmann::ordered_json>;
#else
template <class J>
inline constexpr bool is_json = false;
#endif

template <class R>
inline constexpr bool is_result = std::is_same_v<R, std::string> || std::is_same_v<R, OwnedString> || is_json<R>;

struct StoreClose {
  void operator()(ss_store* s) const noexcept { ss_store_close(s); }
};

/// Throws the Error for a failed call, freeing the library's message in every case.
[[noreturn]] SESSIONSTORE_COLD inline void raise(ss_status status, char* error) {
  OwnedString guard(error);  // freed even when building the exception throws
  const auto code = static_cast<Status>(static_cast<std::uint32_t>(status));
  if (error != nullptr) throw Error(code, guard.view());
  throw Error(code, status_text(code));
}

[[noreturn]] SESSIONSTORE_COLD inline void raise_closed() {
  // The status' text is ss_status_str(SS_BINDING_STATUS_CLOSED) ("closed"), as for the library's statuses.
  std::string message = "the store is ";
  message.append(status_text(Status::Closed)).append(" (moved from, close()d or default-constructed)");
  throw Error(Status::Closed, message);
}

/// Call it in a statement after the call that wrote `error` (an argument list would not sequence them).
inline void check(ss_status status, char* error) {
  if (status != SS_STATUS_OK) raise(status, error);
}

/// A payload pointer the library accepts: never NULL, so that "" is reported as bad JSON.
inline const char* payload(std::string_view s) noexcept { return s.data() != nullptr ? s.data() : ""; }

[[noreturn]] SESSIONSTORE_COLD inline void raise_nlohmann(Status code, std::string_view context,
                                                          const std::exception& e) {
  std::string message(context);
  message.append(": ").append(e.what());
  throw Error(code, message);
}

/// nlohmann's exceptions become Errors, so that one catch clause handles every failure of a call.
template <class J>
J parse_json(const OwnedString& s) {
  try {
    return J::parse(s.data(), s.data() + s.size());
  } catch (const typename J::exception& e) {
    raise_nlohmann(Status::InvalidJson, "the stored JSON cannot be represented by nlohmann::json", e);
  }
}

template <class J>
std::string dump_json(const J& value) {
  try {
    return value.dump();
  } catch (const typename J::exception& e) {
    raise_nlohmann(Status::InvalidArgument, "nlohmann::json cannot serialise the argument", e);
  }
}

template <class R>
R convert(OwnedString&& s) {
  if constexpr (std::is_same_v<R, std::string>) {
    return std::string(s.data(), s.size());
  } else if constexpr (std::is_same_v<R, OwnedString>) {
    return std::move(s);
  } else if constexpr (is_json<R>) {
    return parse_json<R>(s);
  } else {
    static_assert(always_false<R>,
                  "sessionstore: result type must be std::string, sessionstore::OwnedString or nlohmann::json");
  }
}

/// std::nullopt for SS_STATUS_NOT_FOUND; throws for any other failure.
template <class R>
std::optional<R> not_found_or_raise(ss_status status, char* error) {
  if (status != SS_STATUS_NOT_FOUND) raise(status, error);
  ss_string_free(error);
  return std::nullopt;
}

/// Builds a std::string from what ss_read_with() lends. The library calls it through a C function
/// pointer, so nothing may propagate out of it: an exception is kept and rethrown after the call.
struct StringSink {
  std::optional<std::string> result;
  std::exception_ptr error;

  static void receive(void* context, const char* json, std::size_t len) noexcept {
    auto* self = static_cast<StringSink*>(context);
    try {
      self->result.emplace(json, len);
    } catch (...) {
      self->error = std::current_exception();
    }
  }
};

/// Assigns what ss_read_with() lends to the caller's string, so that its capacity is reused; as for
/// StringSink, an exception is kept and rethrown after the call.
struct AssignSink {
  std::string* out;
  std::exception_ptr error;

  static void receive(void* context, const char* json, std::size_t len) noexcept {
    auto* self = static_cast<AssignSink*>(context);
    try {
      self->out->assign(json, len);
    } catch (...) {
      self->error = std::current_exception();
    }
  }
};

/// Calls `call(char** out_json, size_t* out_len, char** out_error)` and converts its result to R
/// (R = void: asks for no result).
template <class R, class Call>
R json_result(Call&& call) {
  char* error = nullptr;
  if constexpr (std::is_void_v<R>) {
    const ss_status status = call(static_cast<char**>(nullptr), static_cast<std::size_t*>(nullptr), &error);
    check(status, error);
  } else {
    static_assert(is_result<R>,
                  "sessionstore: result type must be std::string, sessionstore::OwnedString or nlohmann::json");
    char* out = nullptr;
    std::size_t len = 0;
    const ss_status status = call(&out, &len, &error);
    check(status, error);
    return convert<R>(OwnedString(out, len));
  }
}

/// Appends `s` to `out` as a JSON string literal.
inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      out.append("\\u00");
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 0xF]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

template <class T, class = void>
struct is_id_range : std::false_type {};
template <class T>
struct is_id_range<T, std::void_t<decltype(std::begin(std::declval<const T&>())),
                                  decltype(std::end(std::declval<const T&>()))>>
    : std::bool_constant<std::is_convertible_v<decltype(*std::begin(std::declval<const T&>())), std::string_view> &&
                         !std::is_convertible_v<const T&, std::string_view> && !is_json<T>> {};

/// Appends the durability members of a config object: `,"path":...,"sync":...` and the rest.
inline void append_durability(std::string& config, const Durability& d) {
  config.append(R"(,"path":)");
  append_json_string(config, d.path);
  config.append(R"(,"sync":")").append(sync_policy_name(d.sync));
  config.append(R"(","sync_interval_ms":)").append(std::to_string(d.sync_interval_ms));
  config.append(R"(,"compact_factor":)").append(std::to_string(d.compact_factor));
  config.append(R"(,"compact_min_bytes":)").append(std::to_string(d.compact_min_bytes));
}

[[noreturn]] SESSIONSTORE_COLD inline void raise_bad_when_full(WhenFull w) {
  throw Error(Status::InvalidArgument, "Options::when_full is " + std::to_string(static_cast<int>(w)) +
                                           ", neither WhenFull::Evict nor WhenFull::Refuse");
}

/// Appends `,"key":value` when `value` is not 0 (the library's default: no bound).
inline void append_bound(std::string& config, std::string_view key, std::uint64_t value) {
  if (value == 0) return;
  config.append(",\"").append(key).append("\":").append(std::to_string(value));
}

/// Appends the bounds members of a config object that are set: `,"idle_expiry_s":...` and the rest (the
/// library refuses a key a backend does not read even at its default value, so defaults are left out).
/// Throws InvalidArgument for a when_full that is not a WhenFull enumerator (the other values are the
/// library's to check).
inline void append_bounds(std::string& config, const Options& o) {
  const std::string_view when_full = when_full_name(o.when_full);
  if (when_full.empty()) raise_bad_when_full(o.when_full);
  append_bound(config, "idle_expiry_s", o.idle_expiry_s);
  append_bound(config, "max_age_s", o.max_age_s);
  if (o.refresh_on_read) config.append(R"(,"refresh_on_read":true)");
  append_bound(config, "max_sessions", o.max_sessions);
  append_bound(config, "max_bytes", o.max_bytes);
  append_bound(config, "user_max_sessions", o.user_max_sessions);
  append_bound(config, "user_max_bytes", o.user_max_bytes);
  if (o.when_full != WhenFull::Evict) config.append(R"(,"when_full":")").append(when_full).push_back('"');
}

[[noreturn]] SESSIONSTORE_COLD inline void raise_bad_backend(Backend b) {
  throw Error(Status::InvalidArgument, "Options::backend is " + std::to_string(static_cast<int>(b)) +
                                           ", neither Backend::Local nor Backend::Redis");
}

/// Appends the backend members of a config object: `,"backend":...`, and the url, the namespace and the
/// timeouts when set (the timeouts: when not at their defaults). They go to the library whatever the
/// backend, which refuses the Redis ones for a local store, and an empty url for a Redis store. Throws
/// InvalidArgument for a backend that is not a Backend enumerator.
inline void append_backend(std::string& config, const Options& o) {
  const std::string_view backend = backend_name(o.backend);
  if (backend.empty()) raise_bad_backend(o.backend);
  config.append(R"(,"backend":")").append(backend).push_back('"');
  if (!o.url.empty()) {
    config.append(R"(,"url":)");
    append_json_string(config, o.url);
  }
  if (o.namespace_) {
    config.append(R"(,"namespace":)");
    append_json_string(config, *o.namespace_);
  }
  if (o.connect_timeout_ms != default_connect_timeout_ms) {
    config.append(R"(,"connect_timeout_ms":)").append(std::to_string(o.connect_timeout_ms));
  }
  if (o.command_timeout_ms != default_command_timeout_ms) {
    config.append(R"(,"command_timeout_ms":)").append(std::to_string(o.command_timeout_ms));
  }
}

/// The config object of an Options.
inline std::string config_of(const Options& o) {
  std::string config = R"({"mode":")";
  config.append(mode_name(o.mode)).append(R"(","max_session_bytes":)").append(std::to_string(o.max_session_bytes));
  config.append(R"(,"non_finite_numbers":")").append(non_finite_numbers_name(o.non_finite_numbers));
  config.append(R"(","feed_bytes":)").append(std::to_string(o.feed_bytes));
  append_bounds(config, o);
  if (o.durability) append_durability(config, *o.durability);
  append_backend(config, o);
  config.push_back('}');
  return config;
}

template <class Range>
std::string json_array_of(const Range& ids) {
  std::string out = "[";
  bool first = true;
  for (const auto& id : ids) {
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, std::string_view(id));
  }
  out.push_back(']');
  return out;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------------
// Store

/// A handle on a session store. Move-only; closes its handle when destroyed. See the top of this file.
class Store {
 public:
  /// A Store that owns no handle: every call throws Error(Status::Closed) until one is assigned.
  Store() noexcept = default;
  /// Takes ownership of a handle from ss_store_open()/ss_store_share() (NULL gives a closed Store).
  explicit Store(ss_store* handle) noexcept : handle_(handle) {}

  Store(Store&&) noexcept = default;
  Store& operator=(Store&&) noexcept = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store() = default;

  // --- opening ---------------------------------------------------------------------------------------

  /// Opens a new, empty store whose handle has `mode` (sessions up to default_max_session_bytes, i.e.
  /// SS_DEFAULT_MAX_SESSION_BYTES).
  static Store open(Mode mode = Mode::Agent) {
    std::string config = R"({"mode":")";
    config.append(mode_name(mode)).append("\"}");
    return from_config(config);
  }

  /// Opens a new, empty store whose handle has `mode` and accepts sessions up to `max_session_bytes`.
  static Store open(Mode mode, std::size_t max_session_bytes) {
    std::string config = R"({"mode":")";
    config.append(mode_name(mode)).append(R"(","max_session_bytes":)").append(std::to_string(max_session_bytes));
    config.push_back('}');
    return from_config(config);
  }

  /// Opens a new, empty store whose handle has `mode` and treats NaN, Infinity and -Infinity in its input
  /// as `non_finite` says (sessions up to default_max_session_bytes).
  static Store open(Mode mode, NonFiniteNumbers non_finite) {
    std::string config = R"({"mode":")";
    config.append(mode_name(mode)).append(R"(","non_finite_numbers":")").append(non_finite_numbers_name(non_finite));
    config.append("\"}");
    return from_config(config);
  }

  /// Opens a new, empty store with `mode`, `max_session_bytes` and the handling of non-finite numbers.
  static Store open(Mode mode, std::size_t max_session_bytes, NonFiniteNumbers non_finite) {
    std::string config = R"({"mode":")";
    config.append(mode_name(mode)).append(R"(","max_session_bytes":)").append(std::to_string(max_session_bytes));
    config.append(R"(,"non_finite_numbers":")").append(non_finite_numbers_name(non_finite)).append("\"}");
    return from_config(config);
  }

  /// Opens a durable store whose handle has `mode`, in the directory `durability.path`, loading what it
  /// holds. Throws Locked when another open store (in this process or another) owns the directory,
  /// Corrupt when its files are damaged, Io when it cannot be created, read or locked, and
  /// InvalidArgument for a bad value (an empty path, an interval or factor of 0).
  static Store open(Mode mode, const Durability& durability) {
    std::string config = R"({"mode":")";
    config.append(mode_name(mode)).push_back('"');
    detail::append_durability(config, durability);
    config.push_back('}');
    return from_config(config);
  }

  /// Opens a durable store with `mode`, `max_session_bytes`, the handling of non-finite numbers and
  /// `durability`.
  static Store open(Mode mode, std::size_t max_session_bytes, NonFiniteNumbers non_finite,
                    const Durability& durability) {
    std::string config = R"({"mode":")";
    config.append(mode_name(mode)).append(R"(","max_session_bytes":)").append(std::to_string(max_session_bytes));
    config.append(R"(,"non_finite_numbers":")").append(non_finite_numbers_name(non_finite)).push_back('"');
    detail::append_durability(config, durability);
    config.push_back('}');
    return from_config(config);
  }

  /// Opens a new store with every option of `options` (mode, max_session_bytes, non_finite_numbers,
  /// feed_bytes, the bounds, when set durability, and the backend): in memory, durable as
  /// open(mode, Durability) is, or on a Redis server (Backend::Redis; Unavailable when it cannot be used).
  /// Throws InvalidArgument for a bad value: refresh_on_read without idle_expiry_s, a when_full or backend
  /// that is not an enumerator (before the library is called), a max_session_bytes of 0, a local-only
  /// option with Backend::Redis or a Redis one with Backend::Local...
  static Store open(const Options& options) { return from_config(detail::config_of(options)); }

  /// Opens a new store from a config JSON object ({"mode": ..., "max_session_bytes": ...,
  /// "non_finite_numbers": ..., "feed_bytes": ..., "idle_expiry_s": ..., "max_sessions": ...,
  /// "when_full": ..., "path": ..., "sync": ..., "backend": ..., "url": ..., ...}); an empty view means
  /// the defaults. An unknown key or a bad value (a negative bound, an unknown when_full, a "path" with
  /// "backend": "redis"...) throws InvalidArgument; a Redis server that cannot be used, Unavailable.
  static Store from_config(std::string_view config_json) {
    ss_store* handle = nullptr;
    char* error = nullptr;
    const ss_status status =
        ss_store_open(config_json.empty() ? nullptr : config_json.data(), config_json.size(), &handle, &error);
    detail::check(status, error);
    return Store(handle);
  }

  /// A second handle on the same data with the same mode.
  Store share() const { return share_raw(nullptr); }
  /// A second handle on the same data with another mode.
  Store share(Mode mode) const { return share_raw(mode_name(mode)); }
  /// A second handle on the same data with a mode given by name (NULL: the same mode).
  Store share(const CStrArg& mode) const { return share_raw(mode.get()); }

  // --- the handle ------------------------------------------------------------------------------------

  bool is_open() const noexcept { return handle_ != nullptr; }
  explicit operator bool() const noexcept { return is_open(); }
  /// Closes the handle now (the data stays while other handles share it). Further calls throw Closed.
  /// Closing the last handle on a durable store fsyncs its journal and releases the directory; that
  /// cannot report a failure, so call sync() first when the caller must know everything is on disk.
  void close() noexcept { handle_.reset(); }

  /// Forces a durable store's journal to stable storage now, whatever its sync policy: when it returns,
  /// every mutation acknowledged before the call survives a power loss. A no-op for a store in memory.
  /// Throws Io (the fsync failed: the store is poisoned from then on) or Poisoned (an earlier one did).
  void sync() const {
    char* error = nullptr;
    const ss_status status = ss_store_sync(handle(), &error);
    detail::check(status, error);
  }
  /// The C handle (NULL when closed), still owned by this Store.
  ss_store* native_handle() const noexcept { return handle_.get(); }
  /// Gives up the C handle; the caller must ss_store_close() it.
  ss_store* release() noexcept { return handle_.release(); }
  void swap(Store& other) noexcept { handle_.swap(other.handle_); }
  friend void swap(Store& a, Store& b) noexcept { a.swap(b); }

  /// The library's run-time version (ss_version()).
  static std::string_view version() noexcept { return sessionstore::version(); }

  // --- writing ---------------------------------------------------------------------------------------

  /// Stores one session (a JSON object) and returns the stored JSON (R = void: returns nothing).
  /// Throws PermissionDenied, changing nothing, when the stored session has a user_id and the input's
  /// differs (null or absent included); import_json is not bound by that rule. In a bounded store the
  /// write may evict other sessions (WhenFull::Evict), or throws Full and changes nothing when it cannot
  /// keep a bound (WhenFull::Refuse, or a session too large for the bound under either policy); this
  /// holds for every write below (upsert_if, upsert_many, rename_session(_if), append_runs, import_json).
  template <class R = std::string>
  R upsert(std::string_view session_json) {
    ss_store* h = handle();
    return detail::json_result<R>([&](char** out, std::size_t* len, char** err) {
      return ss_upsert(h, detail::payload(session_json), session_json.size(), out, len, err);
    });
  }

  // Versions: every change to a store has a number, one above the last, and the store sets each session's
  // "version" member to the number of the change that last wrote it (appended when absent, replaced where
  // it stands), so it grows with every write of that session. The *_if methods below write only when the
  // stored version is the one expected, else throw Error(Status::VersionMismatch) and change nothing.

  /// upsert(), if the stored session's "version" is `expected_version` (0: the session must not exist
  /// yet); otherwise throws VersionMismatch and changes nothing: read the session again, apply the change
  /// to what it holds and retry. Returns the stored JSON (R = void: nothing). The type and owner are
  /// checked first (Conflict, PermissionDenied), as for upsert().
  template <class R = std::string>
  R upsert_if(std::string_view session_json, std::uint64_t expected_version) {
    ss_store* h = handle();
    return detail::json_result<R>([&](char** out, std::size_t* len, char** err) {
      return ss_upsert_if(h, detail::payload(session_json), session_json.size(), expected_version, out, len, err);
    });
  }

  /// Stores a JSON array of sessions, all or none; returns the stored sessions as a JSON array. A failing
  /// element (PermissionDenied included) fails the batch, and the message names it ("sessions[i]: ...").
  template <class R = std::string>
  R upsert_many(std::string_view sessions_json) {
    ss_store* h = handle();
    return detail::json_result<R>([&](char** out, std::size_t* len, char** err) {
      return ss_upsert_many(h, detail::payload(sessions_json), sessions_json.size(), out, len, err);
    });
  }

  // The user_id of rename_session(_if), append_runs, delete_session(_if) and delete_sessions is optional
  // and comes last: absent (the default, nullptr, std::nullopt) or empty, any session of this handle's
  // type is touched; given, only a session of that user is (another user's is NotFound for a rename or
  // an append, and is not removed by a delete).

  /// Sets session_data.session_name and returns the stored session; throws NotFound when absent (or,
  /// user_id given, another user's).
  template <class R = std::string>
  R rename_session(const CStrArg& session_id, const CStrArg& session_name, const CStrArg& user_id = {}) {
    ss_store* h = handle();
    return detail::json_result<R>([&](char** out, std::size_t* len, char** err) {
      return ss_rename_session(h, session_id.get(), session_name.get(), user_id.get(), out, len, err);
    });
  }

  /// rename_session(), if the session's "version" is `expected_version`; otherwise throws VersionMismatch
  /// and changes nothing. A session the call cannot see (absent, another type, another user's when
  /// user_id is given) has version 0, so expecting 0 throws NotFound.
  template <class R = std::string>
  R rename_session_if(const CStrArg& session_id, const CStrArg& session_name, std::uint64_t expected_version,
                      const CStrArg& user_id = {}) {
    ss_store* h = handle();
    return detail::json_result<R>([&](char** out, std::size_t* len, char** err) {
      return ss_rename_session_if(h, session_id.get(), session_name.get(), user_id.get(), expected_version, out, len,
                                  err);
    });
  }

  /// Appends the runs of `runs_json` (a JSON array of one or more runs) to the session's transcript, in one
  /// atomic step: to "memory"."runs" (agent, team and workflow handles) or "runs" (workflow_v2), creating
  /// a missing or null "memory" or "runs". Concurrent appends to one session, from any threads and
  /// handles, all land; no retry is needed. Returns the stored session (R = void: nothing). Throws
  /// NotFound (absent, expired, another type, another user's when user_id is given), InvalidArgument (not
  /// an array, or empty), InvalidJson, InvalidSession (the runs member is not an array), TooLarge, Full.
  template <class R = std::string>
  R append_runs(const CStrArg& session_id, std::string_view runs_json, const CStrArg& user_id = {}) {
    ss_store* h = handle();
    return detail::json_result<R>([&](char** out, std::size_t* len, char** err) {
      return ss_append_runs(h, session_id.get(), user_id.get(), detail::payload(runs_json), runs_json.size(), out,
                            len, err);
    });
  }

  /// Deletes one session of this handle's type (user_id given: only that user's); returns how many were
  /// removed (0 or 1).
  std::size_t delete_session(const CStrArg& session_id, const CStrArg& user_id = {}) {
    std::size_t removed = 0;
    char* error = nullptr;
    const ss_status status = ss_delete_session(handle(), session_id.get(), user_id.get(), &removed, &error);
    detail::check(status, error);
    return removed;
  }

  /// delete_session(), if the session's "version" is `expected_version`, where 0 means it must not exist
  /// (then nothing is removed and 0 is returned); otherwise throws VersionMismatch and changes nothing.
  std::size_t delete_session_if(const CStrArg& session_id, std::uint64_t expected_version,
                                const CStrArg& user_id = {}) {
    std::size_t removed = 0;
    char* error = nullptr;
    const ss_status status =
        ss_delete_session_if(handle(), session_id.get(), user_id.get(), expected_version, &removed, &error);
    detail::check(status, error);
    return removed;
  }

  /// Deletes the sessions named by a JSON array of ids (user_id given: only that user's); returns how
  /// many were removed.
  std::size_t delete_sessions(std::string_view session_ids_json, const CStrArg& user_id = {}) {
    std::size_t removed = 0;
    char* error = nullptr;
    const ss_status status = ss_delete_sessions(handle(), detail::payload(session_ids_json), session_ids_json.size(),
                                                user_id.get(), &removed, &error);
    detail::check(status, error);
    return removed;
  }

  /// Deletes the sessions with these ids: store.delete_sessions({"a", "b"}), store.delete_sessions({"a"}, "u1").
  std::size_t delete_sessions(std::initializer_list<std::string_view> session_ids, const CStrArg& user_id = {}) {
    return delete_sessions(std::string_view(detail::json_array_of(session_ids)), user_id);
  }

  /// Deletes the sessions with the ids of a container of strings (std::vector<std::string>...).
  template <class Range, std::enable_if_t<detail::is_id_range<Range>::value, int> = 0>
  std::size_t delete_sessions(const Range& session_ids, const CStrArg& user_id = {}) {
    return delete_sessions(std::string_view(detail::json_array_of(session_ids)), user_id);
  }

  /// Removes every session of this handle's type; returns how many were removed.
  std::size_t drop() {
    std::size_t removed = 0;
    char* error = nullptr;
    const ss_status status = ss_drop(handle(), &removed, &error);
    detail::check(status, error);
    return removed;
  }

  /// Merges an export ({"<id>": session, ...}), all or nothing; returns the number of records. An
  /// administrative load: it replaces stored sessions whatever their user_id (no PermissionDenied).
  /// Timestamps are kept as given, so a record whose "updated_at" (or "created_at") is older than the
  /// store's idle_expiry_s (or max_age_s) is stored already expired. Throws Full when the store's bounds
  /// cannot hold the import even after evicting every other session.
  std::size_t import_json(std::string_view data_json) {
    std::size_t count = 0;
    char* error = nullptr;
    const ss_status status = ss_import(handle(), detail::payload(data_json), data_json.size(), &count, &error);
    detail::check(status, error);
    return count;
  }

  // --- reading ---------------------------------------------------------------------------------------

  /// The session, or std::nullopt when it is absent, expired, of another type, or (user_id given) another
  /// user's. Other failures throw. In a store opened with refresh_on_read, the read refreshes the
  /// session's idle time (both paths: ss_read_with for std::string, ss_read for the other result types).
  template <class R = std::string>
  std::optional<R> read(const CStrArg& session_id, const CStrArg& user_id = {}) const {
    static_assert(detail::is_result<R>,
                  "sessionstore: result type must be std::string, sessionstore::OwnedString or nlohmann::json");
    char* error = nullptr;
    if constexpr (std::is_same_v<R, std::string>) {
      // The string is built straight from the store's bytes (ss_read_with), not from a copy of them.
      detail::StringSink sink;
      const ss_status st =
          ss_read_with(handle(), session_id.get(), user_id.get(), &detail::StringSink::receive, &sink, &error);
      if (st != SS_STATUS_OK) return detail::not_found_or_raise<R>(st, error);
      if (sink.error) std::rethrow_exception(sink.error);
      return std::move(sink.result);
    } else {
      char* out = nullptr;
      std::size_t len = 0;
      const ss_status st = ss_read(handle(), session_id.get(), user_id.get(), &out, &len, &error);
      if (st != SS_STATUS_OK) return detail::not_found_or_raise<R>(st, error);
      return std::optional<R>(detail::convert<R>(OwnedString(out, len)));
    }
  }

  /// read() into the caller's buffer, allocating nothing (ss_read_into): returns the length of the
  /// session's JSON, or std::nullopt when read() would. When the length is at most `cap` the JSON is in
  /// buf[0, length) (not NUL-terminated); above `cap` nothing was copied: call again with a buffer that
  /// large (the session may change in between). `buf` may be nullptr when `cap` is 0, to ask for the
  /// length only; nullptr with a `cap` above 0 throws InvalidArgument.
  std::optional<std::size_t> read_into(const CStrArg& session_id, char* buf, std::size_t cap,
                                       const CStrArg& user_id = {}) const {
    std::size_t len = 0;
    char* error = nullptr;
    const ss_status st = ss_read_into(handle(), session_id.get(), user_id.get(), buf, cap, &len, &error);
    if (st != SS_STATUS_OK) return detail::not_found_or_raise<std::size_t>(st, error);
    return len;
  }

  /// read() into `out`, reusing its capacity (it allocates only to grow it): true when the session was
  /// found (`out` holds its JSON), false when read() would give std::nullopt (`out` is left unchanged).
  bool read_into(const CStrArg& session_id, std::string& out, const CStrArg& user_id = {}) const {
    // ss_read_with, not ss_read_into: one call even when the session grows meanwhile, and no resize()
    // zero-filling out's whole capacity before every read.
    detail::AssignSink sink{&out, nullptr};
    char* error = nullptr;
    const ss_status st =
        ss_read_with(handle(), session_id.get(), user_id.get(), &detail::AssignSink::receive, &sink, &error);
    if (st != SS_STATUS_OK) {
      (void)detail::not_found_or_raise<std::string>(st, error);  // throws unless NOT_FOUND
      return false;
    }
    if (sink.error) std::rethrow_exception(sink.error);
    return true;
  }

  /// A JSON array of the ids of this handle's sessions (insertion order), filtered by user and
  /// entity (empty = no filter).
  template <class R = std::string>
  R get_all_session_ids(const CStrArg& user_id = {}, const CStrArg& entity_id = {}) const {
    const ss_store* h = handle();
    return detail::json_result<R>([&](char** out, std::size_t* len, char** err) {
      return ss_get_all_session_ids(h, user_id.get(), entity_id.get(), out, len, err);
    });
  }

  /// A JSON array of this handle's sessions (insertion order), filtered by user and entity.
  template <class R = std::string>
  R get_all_sessions(const CStrArg& user_id = {}, const CStrArg& entity_id = {}) const {
    const ss_store* h = handle();
    return detail::json_result<R>([&](char** out, std::size_t* len, char** err) {
      return ss_get_all_sessions(h, user_id.get(), entity_id.get(), out, len, err);
    });
  }

  /// A JSON array of at most `limit` sessions (sessionstore::all: every one), newest created_at first.
  /// The default limit, 2, is Agno's.
  template <class R = std::string>
  R get_recent_sessions(const CStrArg& user_id = {}, const CStrArg& entity_id = {}, std::int64_t limit = 2) const {
    const ss_store* h = handle();
    return detail::json_result<R>([&](char** out, std::size_t* len, char** err) {
      return ss_get_recent_sessions(h, user_id.get(), entity_id.get(), limit, out, len, err);
    });
  }

  /// {"sessions":[...],"total":N} for a JSON query (see ss_query); an empty view means {}. Keys include
  /// "session_type" (default this handle's mode; a type, a list of types or "any") and "fields" ("all",
  /// "metadata" for list views without the transcript, or a list of at most 64 top-level field names).
  template <class R = std::string>
  R query(std::string_view query_json = {}) const {
    const ss_store* h = handle();
    return detail::json_result<R>([&](char** out, std::size_t* len, char** err) {
      return ss_query(h, query_json.empty() ? nullptr : query_json.data(), query_json.size(), out, len, err);
    });
  }

  /// {"mode":...,"sessions":N,"bytes":B,"by_type":{...},"feed":{...},"bounds":{...},"durability":D}.
  /// "sessions", "bytes" and "by_type" count every session held, of all types (expired ones not yet
  /// reclaimed included). "feed" is {"store":S,"latest":L,"oldest":O,"kept":K,"bytes":F,"budget":G}: the
  /// store's identity (32 hex digits, the "store" of changes()), the number of the last change, of the
  /// oldest the feed keeps (L + 1 when it keeps none), how many it keeps, their cost and the budget
  /// (feed_bytes). "bounds" is {"sessions":N,"bytes":B,"max_sessions":M,"max_bytes":M,
  /// "user_max_sessions":M,"user_max_bytes":M,"idle_expiry_s":S,"max_age_s":S,"refresh_on_read":false,
  /// "when_full":"evict","expired":E,"evicted":V}: what is held against the bounds, each bound of the
  /// Options (null: none), and how many sessions were reclaimed after they expired and were evicted since
  /// the store was opened. D is null in memory, else the directory, sync policy, journal and snapshot
  /// sizes, compactions and recovery (see ss_stats()).
  template <class R = std::string>
  R stats() const {
    const ss_store* h = handle();
    return detail::json_result<R>(
        [&](char** out, std::size_t* len, char** err) { return ss_stats(h, out, len, err); });
  }

  /// Every session of every type as {"<id>": session, ...} (Agno's storage_dict), for import_json.
  template <class R = std::string>
  R export_json() const {
    const ss_store* h = handle();
    return detail::json_result<R>(
        [&](char** out, std::size_t* len, char** err) { return ss_export(h, out, len, err); });
  }

  /// The store's changes numbered above `after`, oldest first, at most `limit` (>= 1; at most
  /// max_changes): {"changes":[...],"next":N,"latest":L,"store":"<32 hex digits>"}. Each change is
  ///   {"seq":S,"op":"upsert","session_type":"agent","session_id":"...","version":S,"session":{...}},
  ///   {"seq":S,"op":"delete","session_type":"agent","session_id":"..."} (also "op":"expire" and
  ///   "op":"evict", with the same members: the store's bounds removed the session), or
  ///   {"seq":S,"op":"drop","session_type":"agent"} (every session of that type removed);
  /// ids_only leaves "session" out. Pass "next" as `after` next time; "latest" is the store's last change.
  /// "store" is the store's identity: change numbers are a store's own and start again from 1 in a store
  /// made anew (in memory, or durable in another directory), while a durable store keeps its identity
  /// across reopens (the file IDENTITY in its directory); a follower keeps it with its number and starts
  /// again from export_with_seq() when it differs. The feed covers every type, whatever this handle's
  /// mode. Throws FeedTruncated when the feed no longer holds the changes after `after` (it keeps the
  /// latest up to feed_bytes), or `after` is above what this store reached: start again from
  /// export_with_seq(). Throws InvalidArgument for a limit of 0.
  template <class R = std::string>
  R changes(std::uint64_t after, std::size_t limit = max_changes, bool ids_only = false) const {
    static constexpr std::string_view kIdsOnly = R"({"ids_only":true})";
    const ss_store* h = handle();
    return detail::json_result<R>([&](char** out, std::size_t* len, char** err) {
      return ss_changes(h, after, limit, ids_only ? kIdsOnly.data() : nullptr, ids_only ? kIdsOnly.size() : 0, out,
                        len, err);
    });
  }

  /// export_json() and the number of the last change the export holds, taken in one consistent state. To
  /// mirror the store: apply `.json`, then follow changes(`.seq`) and their "next": nothing is missed and
  /// nothing is seen twice.
  template <class R = std::string>
  ExportWithSeq<R> export_with_seq() const {
    static_assert(detail::is_result<R>,
                  "sessionstore: result type must be std::string, sessionstore::OwnedString or nlohmann::json");
    const ss_store* h = handle();
    std::uint64_t seq = 0;
    R exported = detail::json_result<R>(
        [&](char** out, std::size_t* len, char** err) { return ss_export_with_seq(h, out, len, &seq, err); });
    return ExportWithSeq<R>{std::move(exported), seq};
  }

#if SESSIONSTORE_HAS_NLOHMANN
  // --- nlohmann::json overloads: a JSON value in, the same JSON type out --------------------------------
  // (The leading pack keeps them out of calls that name a result type, e.g. upsert<nlohmann::json>(text).)

  template <class... None, class J, std::enable_if_t<sizeof...(None) == 0 && detail::is_json<J>, int> = 0>
  static Store from_config(const J& config) {
    return from_config(std::string_view(detail::dump_json(config)));
  }

  template <class... None, class J, std::enable_if_t<sizeof...(None) == 0 && detail::is_json<J>, int> = 0>
  J upsert(const J& session) {
    return upsert<J>(std::string_view(detail::dump_json(session)));
  }

  template <class... None, class J, std::enable_if_t<sizeof...(None) == 0 && detail::is_json<J>, int> = 0>
  J upsert_if(const J& session, std::uint64_t expected_version) {
    return upsert_if<J>(std::string_view(detail::dump_json(session)), expected_version);
  }

  /// append_runs(id, runs) with a nlohmann::json array of runs; returns the stored session as J.
  template <class... None, class J, std::enable_if_t<sizeof...(None) == 0 && detail::is_json<J>, int> = 0>
  J append_runs(const CStrArg& session_id, const J& runs, const CStrArg& user_id = {}) {
    return append_runs<J>(session_id, std::string_view(detail::dump_json(runs)), user_id);
  }

  template <class... None, class J, std::enable_if_t<sizeof...(None) == 0 && detail::is_json<J>, int> = 0>
  J upsert_many(const J& sessions) {
    return upsert_many<J>(std::string_view(detail::dump_json(sessions)));
  }

  template <class... None, class J, std::enable_if_t<sizeof...(None) == 0 && detail::is_json<J>, int> = 0>
  J query(const J& query_value) const {
    return query<J>(std::string_view(detail::dump_json(query_value)));
  }

  template <class... None, class J, std::enable_if_t<sizeof...(None) == 0 && detail::is_json<J>, int> = 0>
  std::size_t delete_sessions(const J& session_ids, const CStrArg& user_id = {}) {
    return delete_sessions(std::string_view(detail::dump_json(session_ids)), user_id);
  }

  template <class... None, class J, std::enable_if_t<sizeof...(None) == 0 && detail::is_json<J>, int> = 0>
  std::size_t import_json(const J& data) {
    return import_json(std::string_view(detail::dump_json(data)));
  }
#endif

 private:
  ss_store* handle() const {
    ss_store* h = handle_.get();
    if (h == nullptr) detail::raise_closed();
    return h;
  }

  Store share_raw(const char* mode) const {
    const ss_store* h = handle();
    ss_store* shared = nullptr;
    char* error = nullptr;
    const ss_status status = ss_store_share(h, mode, &shared, &error);
    detail::check(status, error);
    return Store(shared);
  }

  std::unique_ptr<ss_store, detail::StoreClose> handle_;
};

}  // namespace sessionstore

#undef SESSIONSTORE_COLD

#endif  // SESSIONSTORE_HPP
