// A small cache of promises for the keys loaded most recently: while a key is kept it is loaded once, a failed load
// is forgotten (the next call tries again), and past `limit` keys the one added first goes.
export function recentPromises<T>(limit: number): (key: string, load: () => Promise<T>) => Promise<T> {
  const kept = new Map<string, Promise<T>>();
  return (key, load) => {
    let promise = kept.get(key);
    if (!promise) {
      const loading = load();
      promise = loading;
      loading.catch(() => {
        if (kept.get(key) === loading) kept.delete(key);
      });
      kept.set(key, loading);
      if (kept.size > limit) kept.delete(kept.keys().next().value as string);
    }
    return promise;
  };
}
