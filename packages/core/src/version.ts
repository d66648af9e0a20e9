/** The aekit release, recorded in checkpoints, bundles and ONNX metadata. */
export const AEKIT_VERSION = '0.1.0';
