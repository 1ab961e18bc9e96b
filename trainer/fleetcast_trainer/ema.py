"""Exponential moving average of the model weights (Polyak averaging).

With a small batch and a noisy objective the weights after the last step sit somewhere on a noisy
path; their running average generalizes better and varies less between seeds. Training keeps
updating the raw weights; validation, early stopping and export use the averaged ones.
"""

import torch


class WeightAverage:
    def __init__(self, model, decay):
        if not 0.0 <= decay < 1.0:
            raise ValueError("decay must be in [0, 1)")
        self.model = model
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items() if v.dtype.is_floating_point}

    @torch.no_grad()
    def update(self):
        for name, value in self.model.state_dict().items():
            avg = self.shadow.get(name)
            if avg is not None:
                avg.mul_(self.decay).add_(value.detach(), alpha=1.0 - self.decay)

    def averaged_state(self):
        """The model's state dict with the averaged floating-point tensors (copies)."""
        state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        state.update({k: v.clone() for k, v in self.shadow.items()})
        return state


class NoAverage:
    """decay 0: the raw weights, same interface."""

    def __init__(self, model):
        self.model = model

    def update(self):
        pass

    def averaged_state(self):
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}


class swapped_in:
    """Context manager: the model holds the averaged weights inside, its raw weights again after."""

    def __init__(self, average):
        self.average = average
        self.raw = None

    def __enter__(self):
        if isinstance(self.average, WeightAverage):
            self.raw = {k: v.detach().clone() for k, v in self.average.model.state_dict().items()}
            self.average.model.load_state_dict(self.average.averaged_state())
        return self.average.model

    def __exit__(self, *exc):
        if self.raw is not None:
            self.average.model.load_state_dict(self.raw)


def weight_average(model, decay):
    return WeightAverage(model, decay) if decay > 0 else NoAverage(model)
