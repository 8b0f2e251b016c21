"""Matrix preconditioners: each 2-D slice of a leaf is multiplied by matrices, not scaled per entry.

- `scale_by_shampoo` (Gupta et al. 2018): `L^{-1/4} G R^{-1/4}` from accumulated Kronecker
  factors `L ~ sum G G^T`, `R ~ sum G^T G`, with blocking and grafting;
- `scale_by_soap` (Vyas et al. 2024): Adam in the eigenbasis of Shampoo's factors;
- `scale_by_muon` (Jordan et al. 2024): the momentum orthogonalized by a Newton-Schulz
  iteration, `M (M^T M)^{-1/2}`, which is Shampoo's preconditioner with one step's factors;
- `kronecker`: the factor, blocking and inverse-root math Shampoo and SOAP share.

Their named recipes are shampoo, soap and muon. The diagonal preconditioners with factored
memory (`scale_by_factored_rms` of Adafactor, `scale_by_sm3`) keep one statistic per entry
or per axis and stay in `gdx/transforms` beside `scale_by_rms`.
"""

from gdx.transforms.preconditioners.muon import MuonDimensionNumbers as MuonDimensionNumbers
from gdx.transforms.preconditioners.muon import MuonState as MuonState
from gdx.transforms.preconditioners.muon import scale_by_muon as scale_by_muon
from gdx.transforms.preconditioners.muon import scale_by_shape as scale_by_shape
from gdx.transforms.preconditioners.shampoo import ShampooState as ShampooState
from gdx.transforms.preconditioners.shampoo import scale_by_shampoo as scale_by_shampoo
from gdx.transforms.preconditioners.soap import SoapState as SoapState
from gdx.transforms.preconditioners.soap import scale_by_soap as scale_by_soap
