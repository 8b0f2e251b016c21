"""`gdx.optimizers`: every named optimizer recipe, each a short `chain(...)` of `gdx.transforms`.

Each recipe is re-exported from its module here (`gdx.optimizers.adam is gdx.adam`); the
package attribute is the function, not the module of the same name (`gdx.optimizers.adam`
the recipe; its module is `importlib.import_module("gdx.optimizers.adam")`).
"""

from gdx.optimizers.acprop import acprop as acprop
from gdx.optimizers.adadelta import adadelta as adadelta
from gdx.optimizers.adafactor import adafactor as adafactor
from gdx.optimizers.adagrad import adagrad as adagrad
from gdx.optimizers.adam import adam as adam
from gdx.optimizers.adam import amsgrad as amsgrad
from gdx.optimizers.adam import nadam as nadam
from gdx.optimizers.adam_variants import adabelief as adabelief
from gdx.optimizers.adam_variants import radam as radam
from gdx.optimizers.adam_variants import yogi as yogi
from gdx.optimizers.adamax import adamax as adamax
from gdx.optimizers.adamax import adamaxw as adamaxw
from gdx.optimizers.adamw import adamw as adamw
from gdx.optimizers.adamw import nadamw as nadamw
from gdx.optimizers.adan import adan as adan
from gdx.optimizers.ademamix import ademamix as ademamix
from gdx.optimizers.ademamix import simplified_ademamix as simplified_ademamix
from gdx.optimizers.adopt import adopt as adopt
from gdx.optimizers.cocob import cocob as cocob
from gdx.optimizers.dadapt import dadapt_adamw as dadapt_adamw
from gdx.optimizers.dog import dog as dog
from gdx.optimizers.dog import dowg as dowg
from gdx.optimizers.dpsgd import dpsgd as dpsgd
from gdx.optimizers.fromage import fromage as fromage
from gdx.optimizers.galore import galore as galore
from gdx.optimizers.layerwise import lamb as lamb
from gdx.optimizers.layerwise import lars as lars
from gdx.optimizers.lbfgs import lbfgs as lbfgs
from gdx.optimizers.lion import lion as lion
from gdx.optimizers.madgrad import madgrad as madgrad
from gdx.optimizers.momo import momo as momo
from gdx.optimizers.momo import momo_adam as momo_adam
from gdx.optimizers.muon import muon as muon
from gdx.optimizers.noisy_sgd import noisy_sgd as noisy_sgd
from gdx.optimizers.novograd import novograd as novograd
from gdx.optimizers.optimistic import optimistic_adam as optimistic_adam
from gdx.optimizers.optimistic import optimistic_adam_v2 as optimistic_adam_v2
from gdx.optimizers.optimistic import optimistic_gradient_descent as optimistic_gradient_descent
from gdx.optimizers.polyak_sgd import polyak_sgd as polyak_sgd
from gdx.optimizers.prodigy import prodigy as prodigy
from gdx.optimizers.rmsprop import rmsprop as rmsprop
from gdx.optimizers.schedule_free import schedule_free as schedule_free
from gdx.optimizers.schedule_free import schedule_free_adamw as schedule_free_adamw
from gdx.optimizers.schedule_free import schedule_free_eval_params as schedule_free_eval_params
from gdx.optimizers.schedule_free import schedule_free_sgd as schedule_free_sgd
from gdx.optimizers.sgd import sgd as sgd
from gdx.optimizers.shampoo import shampoo as shampoo
from gdx.optimizers.sign_sgd import rprop as rprop
from gdx.optimizers.sign_sgd import sign_sgd as sign_sgd
from gdx.optimizers.sign_sgd import signum as signum
from gdx.optimizers.sm3 import sm3 as sm3
from gdx.optimizers.soap import soap as soap
from gdx.optimizers.sophia import sophia as sophia
