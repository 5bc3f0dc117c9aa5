// Persistent workers for kernel launches. The calling thread takes part; chunks are handed out
// through one atomic counter; idle workers spin briefly before sleeping on a futex, so
// back-to-back small launches (decode steps) find them awake.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln::cpu {

class ThreadPool {
 public:
  using ChunkFn = void (*)(void* ctx, uint32_t chunk);

  // `threads` counts the caller: threads - 1 workers are started. `spin_us`: how long an idle
  // worker polls for the next job before it sleeps.
  ThreadPool(unsigned threads, unsigned spin_us);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  unsigned threads() const { return unsigned(workers_.size()) + 1; }

  // Runs fn(ctx, c) for every c in [0, n_chunks) and returns when all are done. Calls from
  // several threads are serialized.
  void run(ChunkFn fn, void* ctx, uint32_t n_chunks);

 private:
  static constexpr uint32_t kClosed = 0xffffffffu;
  static uint64_t epoch_of(uint64_t t) { return t >> 32; }

  void worker_main(unsigned index);
  void drain();  // claims and runs chunks of the job in the ticket until none is left

  // ticket = (job epoch << 32) | next unclaimed chunk, or kClosed once the job is finished.
  // Job fields change only while the ticket is closed, so a claim (a CAS on the ticket) that
  // succeeds proves the fields read before it belong to the claimed job.
  alignas(64) std::atomic<uint64_t> ticket_{kClosed};
  alignas(64) std::atomic<uint32_t> done_{0};
  alignas(64) std::atomic<ChunkFn> fn_{nullptr};
  std::atomic<void*> ctx_{nullptr};
  std::atomic<uint32_t> n_chunks_{0};
  alignas(64) std::atomic<uint32_t> wake_{0};  // futex word: bumped when sleepers must wake
  std::atomic<uint32_t> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::mutex run_mu_;
  unsigned spin_us_;
  std::vector<std::thread> workers_;
};

// Threads to use: KILN_THREADS when set (>= 1), else the CPUs this process may run on.
unsigned default_thread_count();

}  // namespace kiln::cpu
