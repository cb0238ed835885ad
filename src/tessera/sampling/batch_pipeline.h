// Parallel batch assembly with bounded prefetch. Workers build batches of
// [anchor, neighbour, opposite] tiles from the TileStore, each in one block
// of a BufferPool (buffer_pool.h); the consumer
// receives them strictly in batch order, so the stream is deterministic
// whatever the thread count. At most `prefetch` batches are ready or in
// progress beyond the one being consumed.
//
// Shutdown rule: the destructor (or an exception in the consumer) sets the
// stop flag, wakes every worker and joins them; a worker's exception is
// rethrown by next(). No thread outlives the pipeline.
#pragma once

#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "tessera/augment/tile_augmenter.h"
#include "tessera/sampling/buffer_pool.h"
#include "tessera/sampling/tile_store.h"
#include "tessera/sampling/triplet_sampler.h"

namespace tessera::sampling {

struct TripletBatch {
  std::size_t index = 0;
  int size = 0;
  std::size_t tile_floats = 0;
  // [3][size][channels][frames][bins]: the anchors, then the neighbours,
  // then the opposites; one contiguous [3 * size, C, T, F] array. The block
  // returns to its pool when the last copy of this pointer goes.
  std::shared_ptr<float> tiles;
  std::vector<TripletSpec> specs;
  float* anchor() const { return tiles.get(); }
  float* neighbour() const { return tiles.get() + std::size_t(size) * tile_floats; }
  float* opposite() const { return tiles.get() + 2 * std::size_t(size) * tile_floats; }
  std::size_t floats() const { return 3 * std::size_t(size) * tile_floats; }
  // The recording of each of the 3 x size views, in the tiles' order.
  std::vector<std::uint32_t> view_recordings() const;
};

struct PipelineOptions {
  int batch_size = 256;
  int workers = 16;  // gen_count
  int prefetch_batches = 2048;
  double memory_budget_mb = 2048;  // caps prefetch_batches
  bool drop_last = false;
  // Augmentation of the training views (augment/tile_augmenter.h), drawn
  // from (seed, epoch, triplet); off by default and in evaluation.
  augment::AugmentOptions augment;
  std::uint64_t seed = 0;
  int epoch = 0;
  void validate() const;
  // The floats of a full batch: anchors, neighbours and opposites, each
  // batch_size tiles of `tile_floats` (a BufferPool's block size).
  std::size_t batch_floats(std::size_t tile_floats) const;
  // The prefetch depth actually used: prefetch_batches, lowered so that the
  // batches in flight fit the memory budget (at least 1).
  int effective_prefetch(std::size_t tile_floats) const;
};

class BatchPipeline {
 public:
  // Batches are built in blocks of `pool` (empty: a heap pool of its own).
  // A pool's blocks must hold a full batch: 3 x batch_size x tile floats.
  BatchPipeline(const TileStore& store, std::vector<TripletSpec> specs,
                const PipelineOptions& options, std::shared_ptr<BufferPool> pool = nullptr);
  ~BatchPipeline();
  BatchPipeline(const BatchPipeline&) = delete;
  BatchPipeline& operator=(const BatchPipeline&) = delete;

  // The next batch in order; false when the epoch is exhausted.
  bool next(TripletBatch& out);
  std::size_t batches() const { return n_batches_; }
  int prefetch() const { return prefetch_; }
  // Seconds the consumer spent waiting in next(): time lost to data.
  double wait_seconds() const { return wait_seconds_; }

 private:
  void work();
  void build(std::size_t index, TripletBatch& b);
  void augment_views(TripletBatch& b) const;

  const TileStore& store_;
  std::vector<TripletSpec> specs_;
  std::unique_ptr<augment::TileAugmenter> augmenter_;  // null: no augmentation
  PipelineOptions options_;
  std::shared_ptr<BufferPool> pool_;
  std::size_t n_batches_ = 0;
  int prefetch_ = 1;
  std::mutex mutex_;
  std::condition_variable ready_cv_, space_cv_;
  std::map<std::size_t, TripletBatch> ready_;
  std::size_t next_to_build_ = 0, next_to_return_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  double wait_seconds_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace tessera::sampling
