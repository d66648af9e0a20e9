/** Clip bound of tfjs-layers' binaryCrossentropy (`epsilon()`): every engine clips BCE's input to [ε, 1 − ε]. */
export const BCE_EPSILON = 1e-7;
