// Several std::threads on one Store object, on shared handles, and opening/closing handles at once.
#include <sessionstore.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using nlohmann::json;
using sessionstore::Mode;
using sessionstore::OwnedString;
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
