export declare function loadIdxImages(path: string, divisor?: number): { data: Float32Array; rows: number; cols: number };
