#include "tessera/sampling/batch_pipeline.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

#include "tessera/common/log.h"
#include "tessera/common/rng.h"
#include "tessera/common/threads.h"

namespace tessera::sampling {

void PipelineOptions::validate() const {
  if (batch_size < 1) throw std::invalid_argument("pipeline: batch_size must be >= 1");
  if (workers < 1) throw std::invalid_argument("pipeline: gen_count must be >= 1");
  if (prefetch_batches < 1) throw std::invalid_argument("pipeline: prefetch_batches must be >= 1");
  if (!(memory_budget_mb > 0))
    throw std::invalid_argument("pipeline: prefetch_memory_mb must be > 0");
  augment.validate();
}

std::size_t PipelineOptions::batch_floats(std::size_t tile_floats) const {
  return 3 * std::size_t(batch_size) * tile_floats;
}

int PipelineOptions::effective_prefetch(std::size_t tile_floats) const {
  const double batch_mb = double(batch_floats(tile_floats)) * sizeof(float) / (1024.0 * 1024.0);
  const int fit = std::max(1, int(memory_budget_mb / std::max(batch_mb, 1e-9)));
  return std::min(prefetch_batches, fit);
}

BatchPipeline::BatchPipeline(const TileStore& store, std::vector<TripletSpec> specs,
                             const PipelineOptions& options, std::shared_ptr<BufferPool> pool)
    : store_(store), specs_(std::move(specs)), options_(options), pool_(std::move(pool)) {
  options_.validate();
  const std::size_t b = std::size_t(options_.batch_size);
  const std::size_t batch_floats = options_.batch_floats(store_.geometry().tile_floats());
  if (!pool_) pool_ = BufferPool::create(batch_floats);
  if (pool_->block_floats() < batch_floats) {
    throw std::invalid_argument("pipeline: the buffer pool's blocks hold " +
                                std::to_string(pool_->block_floats()) + " floats, a batch needs " +
                                std::to_string(batch_floats));
  }
  if (options_.augment.enabled()) {
    augmenter_ = std::make_unique<augment::TileAugmenter>(options_.augment);
  }
  n_batches_ = options_.drop_last ? specs_.size() / b : (specs_.size() + b - 1) / b;
  prefetch_ = options_.effective_prefetch(store_.geometry().tile_floats());
  if (prefetch_ < options_.prefetch_batches) {
    static bool warned = false;  // once per process, not once per epoch
    if (!warned) {
      warned = true;
      const double batch_mb = double(batch_floats) * sizeof(float) / (1024.0 * 1024.0);
      common::log_warning("prefetch_batches ", options_.prefetch_batches, " x ", batch_mb,
                          " MB per batch exceeds prefetch_memory_mb (", options_.memory_budget_mb,
                          "); prefetching ", prefetch_, " batches instead");
    }
  }
  const int workers = int(
      std::min<std::size_t>(std::size_t(options_.workers), std::max<std::size_t>(1, n_batches_)));
  for (int t = 0; t < workers; ++t) threads_.emplace_back([this] { work(); });
}

BatchPipeline::~BatchPipeline() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  space_cv_.notify_all();
  ready_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void BatchPipeline::build(std::size_t index, TripletBatch& b) {
  const std::size_t begin = index * std::size_t(options_.batch_size);
  const std::size_t end = std::min(specs_.size(), begin + std::size_t(options_.batch_size));
  const std::size_t tf = store_.geometry().tile_floats();
  b.index = index;
  b.size = int(end - begin);
  b.tile_floats = tf;
  b.specs.assign(specs_.begin() + begin, specs_.begin() + end);
  b.tiles = pool_->take();
  float *anchor = b.anchor(), *neighbour = b.neighbour(), *opposite = b.opposite();
  for (int i = 0; i < b.size; ++i) {
    const TripletSpec& s = b.specs[i];
    store_.copy_tile(s.anchor_rec, s.anchor_tile, anchor + i * tf);
    store_.copy_tile(s.anchor_rec, s.neighbour_tile, neighbour + i * tf);
    store_.copy_tile(s.opposite_rec, s.opposite_tile, opposite + i * tf);
  }
  if (augmenter_) augment_views(b);
}

std::vector<std::uint32_t> TripletBatch::view_recordings() const {
  std::vector<std::uint32_t> r(3 * std::size_t(size));
  for (int i = 0; i < size; ++i) {
    r[i] = r[std::size_t(size) + i] = specs[i].anchor_rec;
    r[2 * std::size_t(size) + i] = specs[i].opposite_rec;
  }
  return r;
}

void BatchPipeline::augment_views(TripletBatch& b) const {
  // Views in the batch's order: anchors, neighbours, opposites. A triplet is
  // unique in its epoch by its anchor (recording, tile), so its streams do
  // not depend on which batch or rank it lands in.
  const std::size_t views = 3 * std::size_t(b.size);
  const std::vector<std::uint32_t> recordings = b.view_recordings();
  std::vector<std::uint64_t> streams(views);
  constexpr std::uint64_t kAugmentStream = 0x61756731;  // this stream's own tag
  for (int role = 0; role < 3; ++role) {
    for (int i = 0; i < b.size; ++i) {
      const TripletSpec& s = b.specs[i];
      const std::size_t v = std::size_t(role) * b.size + i;
      streams[v] =
          common::derive_seed({options_.seed, kAugmentStream, std::uint64_t(options_.epoch),
                               s.anchor_rec, s.anchor_tile, std::uint64_t(role)});
    }
  }
  const TileGeometry& g = store_.geometry();
  augmenter_->apply(b.tiles.get(), views, {g.channels, g.tile_frames, g.bins}, recordings, streams);
}

void BatchPipeline::work() {
  for (;;) {
    std::size_t index;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      space_cv_.wait(lock, [&] {
        return stop_ || next_to_build_ >= n_batches_ ||
               next_to_build_ < next_to_return_ + std::size_t(prefetch_);
      });
      if (stop_ || next_to_build_ >= n_batches_) return;
      index = next_to_build_++;
    }
    TripletBatch b;
    try {
      build(index, b);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
      stop_ = true;
      ready_cv_.notify_all();
      space_cv_.notify_all();
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.emplace(index, std::move(b));
    }
    ready_cv_.notify_all();
  }
}

bool BatchPipeline::next(TripletBatch& out) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (next_to_return_ >= n_batches_) return false;
  const auto t0 = std::chrono::steady_clock::now();
  ready_cv_.wait(lock, [&] { return error_ || stop_ || ready_.count(next_to_return_); });
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (error_) std::rethrow_exception(error_);
  if (stop_) return false;
  auto it = ready_.find(next_to_return_);
  out = std::move(it->second);
  ready_.erase(it);
  ++next_to_return_;
  lock.unlock();
  space_cv_.notify_all();
  return true;
}

}  // namespace tessera::sampling
