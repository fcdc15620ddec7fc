// Agno cookbook "in_memory_storage_for_workflow" and "..._for_workflows_2", in C++: a workflow (v1) and a
// "Content Creation Workflow" (v2, steps research -> content planning) store their sessions; each mode
// sees only its own sessions, and a query finds runs by name and time.
#include <sessionstore.hpp>

#include <iostream>
#include <string>

int main() {
  try {
    sessionstore::Store workflows = sessionstore::Store::open(sessionstore::Mode::Workflow);
    sessionstore::Store workflows_v2 = workflows.share(sessionstore::Mode::WorkflowV2);

    std::cout << "workflow v1: a blog post generator caches its search results in the session\n";
    workflows.upsert(R"({"session_id": "blog-post-1", "user_id": "kai", "workflow_id": "blog-post-generator",
                         "session_data": {"session_name": "Blog: AI agents", "session_state": {"cached": ["a.html"]}},
                         "created_at": 1700000000})");

    std::cout << "workflow v2: 'AI trends in 2024' runs the research step, then the planning step\n";
    for (int run = 1; run <= 3; ++run) {
      std::string id = "content-creation-" + std::to_string(run);
      workflows_v2.upsert(R"({"session_id": ")" + id +
                          R"(", "user_id": "kai", "workflow_id": "content-creation",
                              "workflow_name": "Content Creation Workflow",
                              "runs": [{"step": "Research Step"}, {"step": "Content Planning Step"}],
                              "session_data": {"session_name": "AI trends in 2024, run )" +
                          std::to_string(run) + R"("}, "created_at": )" + std::to_string(1700000000 + run) + "}");
    }

    std::cout << "v1 sessions: " << workflows.get_all_session_ids() << "\n";
    std::cout << "v2 sessions: " << workflows_v2.get_all_session_ids("kai", "content-creation") << "\n";
    std::cout << "v2 query (name contains 'trends', created from 1700000002 on, oldest first):\n  "
              << workflows_v2.query(R"({"session_name": "TRENDS", "created_after": 1700000002,
                                        "sort_order": "asc", "limit": 10})")
              << "\n";
    std::cout << "stats: " << workflows.stats() << "\n";
    std::cout << "drop v2 sessions: " << workflows_v2.drop() << " removed; v1 keeps "
              << workflows.get_all_session_ids() << "\n";
  } catch (const sessionstore::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
