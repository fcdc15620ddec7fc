// sessionstore.hpp compiled on its own (with nlohmann when it is installed, and with
// -DSESSIONSTORE_NO_NLOHMANN), under strict warnings. The function below is never run: it makes the
// compiler instantiate every template of the header.
#include "sessionstore.hpp"

std::size_t sessionstore_header_hpp_check(sessionstore::Store& s, std::string_view sv, const std::string& str) {
  using sessionstore::OwnedString;
  std::size_t n = sessionstore::version().size() + sessionstore::Store::version().size();
  sessionstore::Store a = sessionstore::Store::open();
  sessionstore::Store b = sessionstore::Store::open(sessionstore::Mode::WorkflowV2, 1024);
  sessionstore::Store c = sessionstore::Store::from_config(sv);
  sessionstore::Store d = s.share();
  sessionstore::Store e = s.share(sessionstore::Mode::Team);
  sessionstore::Store f = s.share("team");
  sessionstore::Store h = sessionstore::Store::open(sessionstore::Mode::Agent, sessionstore::NonFiniteNumbers::Null);
  sessionstore::Store i =
      sessionstore::Store::open(sessionstore::Mode::Team, 1024, sessionstore::NonFiniteNumbers::Reject);
  n += std::strlen(sessionstore::non_finite_numbers_name(sessionstore::NonFiniteNumbers::Null));
  n += s.upsert(sv).size() + s.upsert<OwnedString>(str).size();
  s.upsert<void>("{}");
  n += s.upsert_many(sv).size() + s.upsert_many<OwnedString>(sv).size();
  s.upsert_many<void>(sv);
  n += s.read(sv)->size() + s.read<OwnedString>(str, "u")->size();
  char buf[64];
  std::string reused;
  n += *s.read_into("id", buf, sizeof buf) + s.read_into(sv, nullptr, 0, str).value_or(0);
  n += static_cast<std::size_t>(s.read_into(str, reused)) + static_cast<std::size_t>(s.read_into("id", reused, sv));
  n += s.get_all_session_ids().size() + s.get_all_session_ids<OwnedString>("u", sv).size();
  n += s.get_all_sessions(str).size() + s.get_all_sessions<OwnedString>().size();
  n += s.get_recent_sessions().size() + s.get_recent_sessions<OwnedString>("u", "e", sessionstore::all).size();
  n += s.query().size() + s.query<OwnedString>(sv).size();
  n += s.rename_session("id", sv).size() + s.rename_session<OwnedString>(str, "x").size();
  s.rename_session<void>("id", "name");
  const std::optional<std::string> user = str;
  const std::optional<std::string_view> user_view = sv;
  const std::optional<const char*> user_c = "u";
  n += s.rename_session("id", "name", "u").size() + s.rename_session<OwnedString>(sv, str, user).size();
  s.rename_session<void>("id", "name", user_view);
  n += s.delete_session(sv) + s.delete_sessions(sv) + s.delete_sessions({"a", "b"});
  n += s.delete_session(sv, str) + s.delete_session("id", std::nullopt) + s.delete_session("id", user_c);
  n += s.delete_sessions(sv, "u") + s.delete_sessions({"a", "b"}, sv) + s.delete_sessions({"a"}, user);
  n += s.delete_sessions(std::initializer_list<const char*>{"a"});
  n += s.drop() + s.import_json(sv);
  n += s.stats().size() + s.stats<OwnedString>().size();
  n += s.export_json().size() + s.export_json<OwnedString>().size();
  // 0.3.0: versions, conditional writes, appends, the change feed.
  const std::uint64_t expected = 3;
  n += s.upsert_if(sv, expected).size() + s.upsert_if<OwnedString>(str, 0).size();
  s.upsert_if<void>("{}", expected);
  n += s.rename_session_if("id", "name", expected).size() + s.rename_session_if<OwnedString>(sv, str, 1, user).size();
  s.rename_session_if<void>("id", "name", expected, user_view);
  n += s.append_runs("id", sv).size() + s.append_runs<OwnedString>(str, "[1]", "u").size();
  s.append_runs<void>(sv, str, user_c);
  n += s.delete_session_if("id", expected) + s.delete_session_if(sv, 0, str) + s.delete_session_if("id", 1, std::nullopt);
  n += s.changes(0).size() + s.changes<OwnedString>(expected, 10).size() + s.changes(expected, 1, true).size();
  const sessionstore::ExportWithSeq exported = s.export_with_seq();
  const sessionstore::ExportWithSeq<OwnedString> owned = s.export_with_seq<OwnedString>();
  n += exported.json.size() + static_cast<std::size_t>(exported.seq) + owned.json.size();
  sessionstore::Options options;
  options.feed_bytes = 0;
  options.durability = sessionstore::Durability{str};
  sessionstore::Store o = sessionstore::Store::open(options);
#if __cplusplus >= 202002L
  sessionstore::Store o20 = sessionstore::Store::open({.mode = sessionstore::Mode::Team, .feed_bytes = 0});
#endif
  n += static_cast<std::size_t>(sessionstore::default_feed_bytes) + sessionstore::max_changes;
  // 0.4.0: bounds.
  sessionstore::Options bounded;
  bounded.idle_expiry_s = expected;
  bounded.max_age_s = 86400;
  bounded.refresh_on_read = true;
  bounded.max_sessions = n;
  bounded.max_bytes = str.size();
  bounded.user_max_sessions = 10;
  bounded.user_max_bytes = 1u << 20;
  bounded.when_full = sessionstore::WhenFull::Refuse;
  sessionstore::Store ob = sessionstore::Store::open(bounded);
  n += std::strlen(sessionstore::when_full_name(bounded.when_full));
  n += static_cast<std::uint32_t>(sessionstore::Status::Full);
  // 0.4.0: the Redis backend (not opened here: it would connect).
  sessionstore::Options redis;
  redis.backend = sessionstore::Backend::Redis;
  redis.url = "redis://127.0.0.1:6379/0";
  redis.namespace_ = "app";
  redis.connect_timeout_ms = sessionstore::default_connect_timeout_ms;
  redis.command_timeout_ms = sessionstore::default_command_timeout_ms + 1;
  n += std::strlen(sessionstore::backend_name(redis.backend)) + redis.url.size() + redis.namespace_->size();
  n += static_cast<std::uint32_t>(sessionstore::Status::Unavailable);
  sessionstore::Store orr = sessionstore::Store::open(redis);
#if __cplusplus >= 202002L
  sessionstore::Store orr20 = sessionstore::Store::open(
      {.mode = sessionstore::Mode::Agent, .backend = sessionstore::Backend::Redis, .url = "redis://h:6379/0",
       .namespace_ = "app", .command_timeout_ms = 500});
#endif
#if __cplusplus >= 202002L
  sessionstore::Store ob20 = sessionstore::Store::open(
      {.mode = sessionstore::Mode::Agent, .feed_bytes = 0, .idle_expiry_s = 60, .max_sessions = 1000,
       .when_full = sessionstore::WhenFull::Evict});
#endif
  try {
    s.close();
  } catch (const sessionstore::Error& err) {
    n += static_cast<std::size_t>(err.status()) + err.message().size() + sessionstore::status_name(err.code()).size();
    n += sessionstore::status_text(err.code()).size();
  }
  n += sessionstore::default_max_session_bytes + static_cast<std::size_t>(sessionstore::max_depth);
#if SESSIONSTORE_HAS_NLOHMANN
  nlohmann::json j = s.upsert(nlohmann::json::object());
  nlohmann::ordered_json oj = s.upsert_many(nlohmann::ordered_json::array());
  j = s.query(j);
  j = s.upsert<nlohmann::json>(sv);
  j = *s.read<nlohmann::json>("id");
  j = s.get_all_sessions<nlohmann::json>();
  n += s.delete_sessions(j) + s.import_json(oj) + j.size();
  n += s.delete_sessions(j, "u") + s.delete_sessions(oj, user);
  sessionstore::Store g = sessionstore::Store::from_config(nlohmann::json::object());
  j = s.upsert_if(j, expected);
  oj = s.upsert_if(oj, 0);
  j = s.upsert_if<nlohmann::json>(sv, 0);
  j = s.append_runs("id", nlohmann::json::array({1}));
  oj = s.append_runs(sv, oj, "u");
  j = s.append_runs<nlohmann::json>("id", "[1]", user);
  j = s.rename_session_if<nlohmann::json>("id", "name", expected);
  j = s.changes<nlohmann::json>(0, 5, true);
  const sessionstore::ExportWithSeq<nlohmann::json> parsed = s.export_with_seq<nlohmann::json>();
  n += parsed.json.size() + static_cast<std::size_t>(parsed.seq);
#endif
  return n;
}
