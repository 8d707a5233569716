/** See disk-cache.js. */
export function cacheFile(name: string, key: string): string;
export function cachedText(name: string, key: string, produce: () => string, valid?: (kept: string) => boolean): string;
