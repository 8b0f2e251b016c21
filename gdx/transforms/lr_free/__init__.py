"""Learning-rate-free update rules: DoG, DoWG and COCOB (their named recipes are dog, dowg and cocob)."""

from gdx.transforms.lr_free.cocob import COCOBState as COCOBState
from gdx.transforms.lr_free.cocob import scale_by_cocob as scale_by_cocob
from gdx.transforms.lr_free.dog import DoGState as DoGState
from gdx.transforms.lr_free.dog import DoWGState as DoWGState
from gdx.transforms.lr_free.dog import scale_by_dog as scale_by_dog
from gdx.transforms.lr_free.dog import scale_by_dowg as scale_by_dowg
