// Carries the precompiled <torch/torch.h> that the torch-using targets reuse.
