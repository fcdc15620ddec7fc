// Several std::threads on one Store object, on shared handles, and opening/closing handles at once; many
// threads appending runs to one session (append_runs) and read-modify-write loops with upsert_if; reads
// into per-thread buffers (read_into) while a writer resizes the session.
#include <sessionstore.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using nlohmann::json;
using sessionstore::Mode;
using sessionstore::OwnedString;
using sessionstore::Status;
using sessionstore::Store;

namespace {
constexpr int kThreads = 8;
constexpr int kPerThread = 150;
}  // namespace

TEST(Concurrency, ManyThreadsOnOneStoreObject) {
  Store store = Store::open();
  std::atomic<int> failures{0};
  std::atomic<bool> writers_done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, &failures, t] {
      const std::string user = "user" + std::to_string(t);
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = user + "-s" + std::to_string(i);
        json session = {{"session_id", id}, {"user_id", user}, {"agent_id", "agent"}, {"n", i}};
        store.upsert<void>(session.dump());
        std::optional<std::string> back = store.read(id, user);
        if (!back || json::parse(*back)["n"] != i) ++failures;
        if (store.read(id, "someone-else").has_value()) ++failures;
        if (i % 10 == 0) {
          store.rename_session<void>(id, "renamed " + id);
          if (json::parse(store.get_all_session_ids(user)).size() != static_cast<std::size_t>(i + 1)) ++failures;
          json page = json::parse(store.query(json{{"user_id", user}, {"limit", 3}}.dump()));
          if (page["total"] != i + 1 || page["sessions"].size() > 3) ++failures;
          if (json::parse(store.get_recent_sessions(user, "agent", 5)).size() != std::min<std::size_t>(5, i + 1))
            ++failures;
        }
      }
      // Delete the odd ones, one by one and in one batch.
      std::vector<std::string> batch;
      for (int i = 1; i < kPerThread; i += 2) {
        std::string id = user + "-s" + std::to_string(i);
        if (i % 4 == 1) {
          if (store.delete_session(id) != 1) ++failures;
        } else {
          batch.push_back(id);
        }
      }
      if (store.delete_sessions(batch) != batch.size()) ++failures;
    });
  }
  // A reader sees consistent snapshots while the writers run.
  std::thread reader([&] {
    std::size_t last_total = 0;
    while (!writers_done.load()) {
      json st = json::parse(store.stats());
      json all = json::parse(store.get_all_sessions());
      if (st["sessions"].get<std::size_t>() > static_cast<std::size_t>(kThreads * kPerThread)) ++failures;
      if (all.size() > static_cast<std::size_t>(kThreads * kPerThread)) ++failures;
      json exported = json::parse(store.export_json<OwnedString>().view());
      if (!exported.is_object()) ++failures;
      last_total = all.size();
    }
    (void)last_total;
  });
  for (auto& th : threads) th.join();
  writers_done = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  json st = json::parse(store.stats());
  EXPECT_EQ(st["sessions"], kThreads * (kPerThread / 2));
  EXPECT_EQ(json::parse(store.query(R"({"session_name":"renamed"})"))["total"], kThreads * (kPerThread / 10));
}

TEST(Concurrency, SharedHandlesOfEveryModeInThreads) {
  Store root = Store::open();
  const Mode modes[] = {Mode::Agent, Mode::Team, Mode::Workflow, Mode::WorkflowV2};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    // Each thread gets its own handle (moved into the thread) with one of the four modes.
    Store handle = root.share(modes[t % 4]);
    threads.emplace_back([h = std::move(handle), &failures, t]() mutable {
      for (int i = 0; i < 100; ++i) {
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        h.upsert<void>(json{{"session_id", id}}.dump());
        if (!h.read(id)) ++failures;
      }
      // Two threads per mode: this one's 100 sessions plus 0..100 of the other's so far.
      const std::size_t seen = json::parse(h.get_all_session_ids()).size();
      if (seen < 100u || seen > 200u) ++failures;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  json st = json::parse(root.stats());
  EXPECT_EQ(st["sessions"], kThreads * 100);
  EXPECT_EQ(st["by_type"], json({{"agent", 200}, {"team", 200}, {"workflow", 200}, {"workflow_v2", 200}}));
}

TEST(Concurrency, SharingAndClosingHandlesWhileOthersWrite) {
  Store root = Store::open();
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread writer([&] {
    for (int i = 0; i < 500; ++i) root.upsert<void>(json{{"session_id", "w" + std::to_string(i)}}.dump());
    stop = true;
  });
  std::vector<std::thread> sharers;
  for (int t = 0; t < 4; ++t) {
    sharers.emplace_back([&] {
      while (!stop.load()) {
        Store h = root.share(Mode::Agent);
        Store moved = std::move(h);
        if (h.is_open()) ++failures;
        moved.get_recent_sessions({}, {}, 3);
        moved.close();
      }
    });
  }
  writer.join();
  for (auto& th : sharers) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(json::parse(root.stats())["sessions"], 500);
}

TEST(Concurrency, IndependentStoresInParallel) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 20; ++round) {
        Store s = Store::open(Mode::Team, 4096);
        s.upsert_many<void>(R"([{"session_id":"a"},{"session_id":"b"}])");
        Store copy = Store::open(Mode::Team);
        if (copy.import_json(s.export_json()) != 2u) ++failures;
        if (copy.drop() != 2u) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// --- 0.3.0: appends and compare-and-set from many threads on one session ----------------------------------

namespace {

constexpr int kWriters = 8;       // threads writing to one session (the brief asks for at least 4)
constexpr int kRunsEach = 100;    // runs each of them adds (at least 50)

// The runs of session `id` as (thread, index) pairs: checks that there are `expected` of them and that
// each thread's runs appear in the order it wrote them (its indexes 0, 1, 2...).
void expect_all_runs_in_thread_order(const json& runs, int threads, int each) {
  ASSERT_EQ(runs.size(), static_cast<std::size_t>(threads * each)) << "every run landed, none twice";
  std::vector<int> next(static_cast<std::size_t>(threads), 0);
  for (const json& run : runs) {
    const int t = run.at("t").get<int>();
    ASSERT_GE(t, 0);
    ASSERT_LT(t, threads);
    EXPECT_EQ(run.at("i").get<int>(), next[static_cast<std::size_t>(t)]++) << "thread " << t << "'s order";
  }
  for (int t = 0; t < threads; ++t) EXPECT_EQ(next[static_cast<std::size_t>(t)], each) << "thread " << t;
}

// Spins until every thread has arrived, so that the calls really overlap.
void wait_for_all(std::atomic<int>& ready, int threads) {
  ready.fetch_add(1);
  while (ready.load() < threads) std::this_thread::yield();
}

}  // namespace

TEST(Concurrency, AppendsFromManyThreadsAllLandInEachThreadsOrder) {
  Store store = Store::open();
  store.upsert(R"({"session_id":"chat","user_id":"ava","memory":{"runs":[]}})");
  const std::uint64_t before = store.stats<json>()["feed"]["latest"];
  std::atomic<int> ready{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    // Half the threads call the one Store object, half their own handle on the same data: both are
    // std::threads calling ss_append_runs at the same time.
    Store own = t % 2 ? store.share() : Store();
    threads.emplace_back([&store, &ready, &failures, t, h = std::move(own)]() mutable {
      Store& target = h.is_open() ? h : store;
      wait_for_all(ready, kWriters);
      for (int i = 0; i < kRunsEach; ++i) {
        try {
          target.append_runs<void>("chat", json::array({{{"t", t}, {"i", i}}}).dump(), "ava");
        } catch (const sessionstore::Error&) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  const json session = *store.read<json>("chat");
  expect_all_runs_in_thread_order(session["memory"]["runs"], kWriters, kRunsEach);
  const json feed = store.stats<json>()["feed"];
  EXPECT_EQ(feed["latest"].get<std::uint64_t>(), before + kWriters * kRunsEach) << "one change per append";
  EXPECT_EQ(session["version"], feed["latest"]);
}

TEST(Concurrency, AppendsToAWorkflowV2SessionFromManyThreads) {
  Store store = Store::open(Mode::WorkflowV2);
  store.upsert(R"({"session_id":"flow"})");  // no "runs" yet: the first append creates it
  std::atomic<int> ready{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      wait_for_all(ready, 4);
      // Two runs per call: a call's runs stay together.
      for (int i = 0; i < 50; i += 2) {
        try {
          store.append_runs<void>("flow", json::array({{{"t", t}, {"i", i}}, {{"t", t}, {"i", i + 1}}}).dump());
        } catch (const sessionstore::Error&) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  const json runs = (*store.read<json>("flow"))["runs"];
  expect_all_runs_in_thread_order(runs, 4, 50);
  for (std::size_t k = 0; k < runs.size(); k += 2) EXPECT_EQ(runs[k]["t"], runs[k + 1]["t"]) << "pairs kept together";
}

TEST(Concurrency, CompareAndSetRetryLoopsLoseNothing) {
  // Read-modify-write with upsert_if: read the session and its version, add a run, write it only if the
  // version is still the one read, else read again and retry. Concurrent writers then never overwrite
  // each other's runs (a plain upsert would).
  constexpr int kCasThreads = 4;
  constexpr int kCasRuns = 50;
  Store store = Store::open();
  store.upsert(R"({"session_id":"cas","user_id":"ava","memory":{"runs":[]}})");
  const std::uint64_t before = store.stats<json>()["feed"]["latest"];
  std::atomic<int> ready{0};
  std::atomic<int> failures{0};
  std::atomic<long> retries{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kCasThreads; ++t) {
    threads.emplace_back([&, t] {
      wait_for_all(ready, kCasThreads);
      for (int i = 0; i < kCasRuns; ++i) {
        for (;;) {
          try {
            json session = *store.read<json>("cas", "ava");
            const std::uint64_t version = session["version"];
            session["memory"]["runs"].push_back({{"t", t}, {"i", i}});
            store.upsert_if<void>(session.dump(), version);
            break;
          } catch (const sessionstore::Error& e) {
            if (e.code() != Status::VersionMismatch) {
              ++failures;
              break;
            }
            ++retries;  // another thread wrote first: read again
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  const json session = *store.read<json>("cas");
  expect_all_runs_in_thread_order(session["memory"]["runs"], kCasThreads, kCasRuns);
  EXPECT_EQ(store.stats<json>()["feed"]["latest"].get<std::uint64_t>(), before + kCasThreads * kCasRuns)
      << "a refused write changes nothing, not even the numbering";
  RecordProperty("cas_retries", static_cast<int>(retries.load()));
  std::printf("[ CAS      ] %d threads x %d runs: %ld retries on VERSION_MISMATCH\n", kCasThreads, kCasRuns,
              retries.load());
}

TEST(Concurrency, AppendsAndCompareAndSetTogether) {
  // Appenders and CAS writers on the same session: an append between a CAS writer's read and its write
  // changes the version, so the CAS write is refused and retried instead of dropping the appended run.
  Store store = Store::open();
  store.upsert(R"({"session_id":"mix","memory":{"runs":[]}})");
  std::atomic<int> ready{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      wait_for_all(ready, 4);
      for (int i = 0; i < 50; ++i) {
        const json run = {{"t", t}, {"i", i}};
        try {
          if (t % 2 == 0) {
            store.append_runs<void>("mix", json::array({run}).dump());
            continue;
          }
          for (;;) {
            json session = *store.read<json>("mix");
            session["memory"]["runs"].push_back(run);
            try {
              store.upsert_if<void>(session.dump(), session["version"].get<std::uint64_t>());
              break;
            } catch (const sessionstore::Error& e) {
              if (e.code() != Status::VersionMismatch) throw;
            }
          }
        } catch (const sessionstore::Error&) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  expect_all_runs_in_thread_order((*store.read<json>("mix"))["memory"]["runs"], 4, 50);
}

TEST(Concurrency, ReadIntoPerThreadBuffersWhileTheSessionChangesSize) {
  // The writer switches the session between a size that fits the readers' buffers and one that does not:
  // every read must give whole JSON, or a length above the buffer with the buffer untouched.
  constexpr std::size_t kCap = 512;
  constexpr int kReaders = 4;
  Store store = Store::open();
  const auto session = [](int n) {
    return json{{"session_id", "grow"}, {"n", n}, {"pad", std::string(n % 2 ? 2000 : 10, 'x')}}.dump();
  };
  store.upsert<void>(session(0));
  std::atomic<int> ready{0};
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<long> fitted{0};
  std::atomic<long> too_large{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kReaders; ++t) {
    threads.emplace_back([&] {
      wait_for_all(ready, kReaders + 1);
      char buf[kCap];
      std::string out;
      do {
        std::memset(buf, '#', sizeof buf);
        const std::optional<std::size_t> len = store.read_into("grow", buf, sizeof buf);
        if (!len) {
          ++failures;
        } else if (*len <= kCap) {
          const json got = json::parse(std::string(buf, *len), nullptr, false);
          if (got.is_discarded() || got["session_id"] != "grow" || got["n"].get<int>() % 2 != 0) ++failures;
          ++fitted;
        } else {
          if (std::string(buf, sizeof buf) != std::string(sizeof buf, '#')) ++failures;
          ++too_large;
        }
        if (!store.read_into("grow", out) || json::parse(out, nullptr, false).is_discarded()) ++failures;
      } while (!done.load());
    });
  }
  wait_for_all(ready, kReaders + 1);
  // The first sizes are held until a reader has met each (a scheduler that serialises threads, as
  // valgrind's does, could otherwise keep the readers on one parity for good); then the writer runs free.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int n = 1; n <= 400; ++n) {
    std::atomic<long>& seen = n % 2 ? too_large : fitted;
    const long before = seen.load();
    store.upsert<void>(session(n));
    while (n <= 8 && seen.load() == before && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
  done = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(fitted.load(), 0);
  EXPECT_GT(too_large.load(), 0);
  std::printf("[ READINTO] %d readers: %ld fitted, %ld too large\n", kReaders, fitted.load(), too_large.load());
}
