export declare const IMAGE_SIDE: number;
export declare const IMAGE_SIZE: number;
export declare function loadDigits(options: { perDigit: number; fromEnd?: boolean }): {
  rows: Uint8Array;
  labels: Uint8Array;
  count: number;
};
