"""Training objectives. Each takes (model, batch, train config, step) and returns named losses;
a stage of the plan weights them (see `TrainConfig.stages`)."""
from .plan import OBJECTIVES, check_plan, stage_losses, stage_modalities

__all__ = ["OBJECTIVES", "check_plan", "stage_losses", "stage_modalities"]
