"""Two per-batch costs of skorch that exceed a small model's own step, cut without
changing what happens: the train/eval switch (a walk over every submodule) is skipped
when the mode is already right, and callbacks are only called for the events they
override."""

from __future__ import annotations

from skorch.callbacks import Callback


class FastEventsMixin:
    """For any skorch ``NeuralNet``, in skorch's own style of extension: the mode switch
    and event dispatch without the per-batch overhead.

    Both are overrides of methods skorch calls on every batch and offers no hook around:
    ``_set_training`` (private) and ``notify``. tests/test_net.py fails when a skorch
    release changes either signature, so a new skorch is read before it is trusted.
    """

    # skorch calls this private method twice per batch; it walks every submodule even
    # when the mode is already right, which costs more than a small model's step.
    def _set_training(self, training=True):
        if self.module_.training != training or self.criterion_.training != training:
            super()._set_training(training)

    def initialize_callbacks(self):
        """skorch's callbacks, and an empty table of who listens to which event.

        Returns
        -------
        self
        """
        super().initialize_callbacks()
        self._listeners = {}
        return self

    # skorch dispatches every event to every callback; most callbacks override few
    # events, so the calls to inherited no-ops are cut here.
    def notify(self, method_name, **cb_kwargs):
        """Call the net's own hook, then only the callbacks that override it.

        Parameters
        ----------
        method_name : str
            The event, e.g. ``"on_batch_end"``.
        **cb_kwargs
            The event's values.
        """
        listeners = self._listeners.get(method_name)
        if listeners is None:
            base = getattr(Callback, method_name)
            listeners = self._listeners[method_name] = [
                cb for _, cb in self.callbacks_ if getattr(type(cb), method_name) is not base
            ]
        getattr(self, method_name)(self, **cb_kwargs)  # the net's own hook keeps history
        for cb in listeners:
            getattr(cb, method_name)(self, **cb_kwargs)
