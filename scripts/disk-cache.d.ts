/** See disk-cache.js. */
export function cachedText(name: string, key: string, produce: () => string): string;
