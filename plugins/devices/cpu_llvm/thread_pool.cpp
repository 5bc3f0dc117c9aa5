#include "thread_pool.h"

#include <pthread.h>
#include <sched.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "kiln/env.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KILN_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define KILN_CPU_RELAX() asm volatile("yield")
#else
#define KILN_CPU_RELAX() ((void)0)
#endif

namespace kiln::cpu {

unsigned default_thread_count() {
  if (const char* threads = env::value("KILN_THREADS")) {
    long n = std::strtol(threads, nullptr, 10);
    if (n >= 1 && n <= 4096) return unsigned(n);
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n >= 1) return unsigned(n);
  }
  unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
}

ThreadPool::ThreadPool(unsigned threads, unsigned spin_us) : spin_us_(spin_us) {
  if (threads == 0) threads = 1;
  ticket_.store(kClosed);  // epoch 0, closed
  workers_.reserve(threads - 1);
  for (unsigned i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_main(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  wake_.fetch_add(1);
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::drain() {
  for (;;) {
    uint64_t t = ticket_.load(std::memory_order_acquire);
    uint32_t chunk = uint32_t(t);
    if (chunk == kClosed) return;
    ChunkFn fn = fn_.load(std::memory_order_relaxed);
    void* ctx = ctx_.load(std::memory_order_relaxed);
    if (chunk >= n_chunks_.load(std::memory_order_relaxed)) return;
    if (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel)) continue;
    fn(ctx, chunk);
    done_.fetch_add(1, std::memory_order_release);
  }
}

void ThreadPool::run(ChunkFn fn, void* ctx, uint32_t n_chunks) {
  if (n_chunks == 0) return;
  if (workers_.empty() || n_chunks == 1) {
    for (uint32_t c = 0; c < n_chunks; ++c) fn(ctx, c);
    return;
  }
  std::lock_guard<std::mutex> lock(run_mu_);
  const uint64_t epoch = epoch_of(ticket_.load()) + 1;
  fn_.store(fn, std::memory_order_relaxed);
  ctx_.store(ctx, std::memory_order_relaxed);
  n_chunks_.store(n_chunks, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  ticket_.store(epoch << 32);  // seq_cst: publishes the fields, pairs with sleepers_ below
  if (sleepers_.load() > 0) {
    wake_.fetch_add(1);
    wake_.notify_all();
  }
  drain();
  for (unsigned spins = 0; done_.load(std::memory_order_acquire) < n_chunks; ++spins) {
    if (spins < 4096) KILN_CPU_RELAX();
    else std::this_thread::yield();  // a worker was descheduled mid-chunk
  }
  ticket_.store((epoch << 32) | kClosed);
}

void ThreadPool::worker_main(unsigned index) {
  std::string name = "kiln-cpu-" + std::to_string(index);
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
  uint64_t last_epoch = 0;
  using clock = std::chrono::steady_clock;
  for (;;) {
    // Wait for a job newer than the last one: spin for spin_us_, then sleep.
    auto spin_until = clock::now() + std::chrono::microseconds(spin_us_);
    for (unsigned n = 0;; ++n) {
      if (stop_.load(std::memory_order_relaxed)) return;
      uint64_t t = ticket_.load(std::memory_order_acquire);
      if (epoch_of(t) != last_epoch && uint32_t(t) != kClosed) break;
      if ((n & 63) == 63 && clock::now() > spin_until) {
        sleepers_.fetch_add(1);
        uint32_t w = wake_.load();
        t = ticket_.load();
        if (!stop_.load() && (epoch_of(t) == last_epoch || uint32_t(t) == kClosed)) wake_.wait(w);
        sleepers_.fetch_sub(1);
        spin_until = clock::now() + std::chrono::microseconds(spin_us_);
      } else {
        KILN_CPU_RELAX();
      }
    }
    last_epoch = epoch_of(ticket_.load(std::memory_order_acquire));
    drain();
  }
}

}  // namespace kiln::cpu
