"""Line searches: backtracking (Armijo) and zoom (strong Wolfe), as `scale_by_*` transforms."""

from gdx.transforms.linesearch.backtracking import BacktrackingLinesearchInfo as BacktrackingLinesearchInfo
from gdx.transforms.linesearch.backtracking import (
    ScaleByBacktrackingLinesearchState as ScaleByBacktrackingLinesearchState,
)
from gdx.transforms.linesearch.backtracking import (
    scale_by_backtracking_linesearch as scale_by_backtracking_linesearch,
)
from gdx.transforms.linesearch.backtracking import value_and_grad_from_state as value_and_grad_from_state
from gdx.transforms.linesearch.zoom import ScaleByZoomLinesearchState as ScaleByZoomLinesearchState
from gdx.transforms.linesearch.zoom import ZoomLinesearchInfo as ZoomLinesearchInfo
from gdx.transforms.linesearch.zoom import scale_by_zoom_linesearch as scale_by_zoom_linesearch
