// KernelOptions' text form, as `tessera bench step --kernels` takes it:
// written by hand from the names in ops/kernel_options.h.
#include "tessera/ops/kernel_options.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace tessera::ops {
namespace {

TEST(KernelOptionsTest, AllAndNoneAreTheTwoEnds) {
  const KernelOptions all = KernelOptions::parse("all");
  EXPECT_TRUE(all.conv_tuning && all.fused_batch_norm && all.bf16_channels_last);
  EXPECT_EQ(all.describe(), "all");
  EXPECT_EQ(KernelOptions{}.describe(), "all");  // the default is every kernel
  const KernelOptions none = KernelOptions::parse("none");
  EXPECT_FALSE(none.conv_tuning || none.fused_batch_norm || none.bf16_channels_last);
  EXPECT_EQ(none.describe(), "none");
}

TEST(KernelOptionsTest, NamedKernelsAreOnAndTheRestOff) {
  const KernelOptions k = KernelOptions::parse("bf16_channels_last+conv_tuning");
  EXPECT_TRUE(k.conv_tuning);
  EXPECT_FALSE(k.fused_batch_norm);
  EXPECT_TRUE(k.bf16_channels_last);
  EXPECT_EQ(k.describe(), "conv_tuning+bf16_channels_last");
  const KernelOptions one = KernelOptions::parse("fused_batch_norm");
  EXPECT_FALSE(one.conv_tuning);
  EXPECT_TRUE(one.fused_batch_norm);
  EXPECT_FALSE(one.bf16_channels_last);
  // describe() reads back as the same options.
  for (const char* text : {"all", "none", "conv_tuning", "fused_batch_norm+bf16_channels_last"}) {
    const KernelOptions p = KernelOptions::parse(text);
    EXPECT_EQ(KernelOptions::parse(p.describe()).describe(), p.describe()) << text;
    EXPECT_EQ(p.describe(), text);
  }
}

TEST(KernelOptionsTest, UnknownNameIsRefusedWithASuggestion) {
  try {
    KernelOptions::parse("conv_tuning+fused_batchnorm");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'fused_batchnorm'"), std::string::npos) << what;
    EXPECT_NE(what.find("did you mean 'fused_batch_norm'"), std::string::npos) << what;
  }
  EXPECT_THROW(KernelOptions::parse(""), std::invalid_argument);
  EXPECT_THROW(KernelOptions::parse("conv_tuning+"), std::invalid_argument);
}

}  // namespace
}  // namespace tessera::ops
