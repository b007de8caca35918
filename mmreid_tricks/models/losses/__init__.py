from .center_loss import CenterLoss
from .label_smooth_ce import CrossEntropyLabelSmoothLoss
from .triplet_loss import TripletLoss

__all__ = ['CenterLoss', 'CrossEntropyLabelSmoothLoss', 'TripletLoss']
