"""Learning-rate-free update rules: DoG, DoWG, COCOB, Prodigy, D-Adaptation and MoMo.

Their named recipes (dog, dowg, cocob, prodigy, dadapt_adamw, momo, momo_adam) are in `gdx.optimizers`.
"""

from gdx.transforms.lr_free.cocob import COCOBState as COCOBState
from gdx.transforms.lr_free.cocob import scale_by_cocob as scale_by_cocob
from gdx.transforms.lr_free.dadapt import DAdaptAdamWState as DAdaptAdamWState
from gdx.transforms.lr_free.dadapt import scale_by_dadapt_adamw as scale_by_dadapt_adamw
from gdx.transforms.lr_free.dog import DoGState as DoGState
from gdx.transforms.lr_free.dog import DoWGState as DoWGState
from gdx.transforms.lr_free.dog import scale_by_dog as scale_by_dog
from gdx.transforms.lr_free.dog import scale_by_dowg as scale_by_dowg
from gdx.transforms.lr_free.momo import MomoAdamState as MomoAdamState
from gdx.transforms.lr_free.momo import MomoState as MomoState
from gdx.transforms.lr_free.momo import scale_by_momo as scale_by_momo
from gdx.transforms.lr_free.momo import scale_by_momo_adam as scale_by_momo_adam
from gdx.transforms.lr_free.prodigy import ProdigyState as ProdigyState
from gdx.transforms.lr_free.prodigy import scale_by_prodigy as scale_by_prodigy
