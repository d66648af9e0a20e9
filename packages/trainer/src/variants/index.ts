export { parseNoise, formatNoise, corrupt, noiseRng, NOISE_KINDS, type NoiseSpec } from './noise.js';
export { planVariant, parseVariant, VARIANTS, type Variant, type VariantOptions, type VariantPlan } from './plan.js';
export {
  checkRateWeight,
  drawUniformNoise,
  latentBits,
  totalLatentBits,
  RATE_DENSITY_LAYER,
  RATE_LATENT_MAX,
  RATE_LATENT_MIN,
  type RateConfig,
} from './rate-math.js';
export { klDivergence, headInputDim, initLogVarHead, LOG_VAR_LAYER, VAE_DEFAULT_BETA, type VaeEngineConfig } from './vae-math.js';
