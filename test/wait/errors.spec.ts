/*
 * WaitTimeoutError and isInterrupted().
 *
 * Ports (k8s.io/apimachinery/pkg/util/wait/error_test.go):
 * - TestInterrupted: every row, with Go's errors mapped to their TypeScript counterparts:
 *   ErrWaitTimeout -> WaitTimeoutError; context.Canceled -> the DOMException AbortError an
 *   AbortController aborts with; context.DeadlineExceeded -> the DOMException TimeoutError of
 *   AbortSignal.timeout(); errWrapper{X} (has Unwrap) -> an Error with `cause: X`; errNotWrapper{X}
 *   (no Unwrap) -> an error that mentions X without linking it; ErrorInterrupted(x) ->
 *   new WaitTimeoutError({ cause: x }).
 * - TestErrorInterrupted: the rows that carry over (a WaitTimeoutError wrapping a plain error is
 *   interrupted, the plain error alone is not).
 * Plus the TypeScript-only cases of the brief: non-error values and cyclic cause chains.
 */
import { isInterrupted, WaitTimeoutError } from '../../lib/index.js';

function abortError(): unknown {
  const controller = new AbortController();
  controller.abort();
  return controller.signal.reason;
}

function timeoutError(): DOMException {
  // What AbortSignal.timeout() aborts with (checked against the real one below).
  return new DOMException('The operation was aborted due to timeout', 'TimeoutError');
}

class NotWrapper extends Error {
  constructor(readonly inner: unknown) {
    super(`wrapped without a cause: ${String(inner)}`);
  }
}

describe('WaitTimeoutError', () => {
  it("has Go's message", () => {
    expect(new WaitTimeoutError().message).toBe('timed out waiting for the condition');
  });

  it('is an Error and a WaitTimeoutError, named WaitTimeoutError', () => {
    const error = new WaitTimeoutError();
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect(error.name).toBe('WaitTimeoutError');
    expect(String(error)).toBe('WaitTimeoutError: timed out waiting for the condition');
    expect(typeof error.stack).toBe('string');
  });

  it('accepts a cause (ErrorInterrupted(cause))', () => {
    const cause = new Error('test');
    const error = new WaitTimeoutError({ cause });
    expect(error.cause).toBe(cause);
    expect(error.message).toBe('timed out waiting for the condition');
  });

  it('is not a plain Error under another name', () => {
    expect(new Error('timed out waiting for the condition')).not.toBeInstanceOf(WaitTimeoutError);
  });
});

describe('isInterrupted()', () => {
  describe('TestInterrupted: true rows', () => {
    it.each<[string, () => unknown]>([
      ['ErrWaitTimeout -> WaitTimeoutError', () => new WaitTimeoutError()],
      ['context.Canceled -> AbortController abort reason (AbortError)', abortError],
      ['context.Canceled -> AbortSignal.abort().reason', (): unknown => AbortSignal.abort().reason],
      ['context.DeadlineExceeded -> TimeoutError', timeoutError],
      ['errWrapper{ErrWaitTimeout}', () => new Error('wrapped', { cause: new WaitTimeoutError() })],
      ['errWrapper{context.Canceled}', () => new Error('wrapped', { cause: abortError() })],
      [
        'errWrapper{context.DeadlineExceeded}',
        () => new Error('wrapped', { cause: timeoutError() }),
      ],
      ['ErrorInterrupted(nil)', () => new WaitTimeoutError()],
      [
        'ErrorInterrupted(errors.New("unknown"))',
        () => new WaitTimeoutError({ cause: new Error('unknown') }),
      ],
      ['ErrorInterrupted(context.Canceled)', () => new WaitTimeoutError({ cause: abortError() })],
      [
        'ErrorInterrupted(ErrWaitTimeout)',
        () => new WaitTimeoutError({ cause: new WaitTimeoutError() }),
      ],
    ])('%s', (_name, make) => {
      expect(isInterrupted(make())).toBe(true);
    });
  });

  describe('TestInterrupted: false rows', () => {
    it.each<[string, unknown]>([
      ['nil -> null', null],
      ['nil -> undefined', undefined],
      ['errors.New("not a cancellation")', new Error('not a cancellation')],
      ['errNotWrapper{ErrWaitTimeout}', new NotWrapper(new WaitTimeoutError())],
      ['errNotWrapper{context.Canceled}', new NotWrapper(abortError())],
      ['errNotWrapper{context.DeadlineExceeded}', new NotWrapper(timeoutError())],
    ])('%s', (_name, error) => {
      expect(isInterrupted(error)).toBe(false);
    });
  });

  describe('TestErrorInterrupted rows that carry over', () => {
    it('a plain error is not interrupted; the same error wrapped as a timeout is', () => {
      const inner = new Error('test');
      expect(isInterrupted(inner)).toBe(false);
      const wrapped = new WaitTimeoutError({ cause: inner });
      expect(isInterrupted(wrapped)).toBe(true);
      expect(wrapped.cause).toBe(inner);
    });
  });

  describe('real abort reasons', () => {
    it('the reason of an aborted AbortController', () => {
      const reason = abortError();
      expect(reason).toBeInstanceOf(DOMException);
      expect((reason as DOMException).name).toBe('AbortError');
      expect(isInterrupted(reason)).toBe(true);
    });

    it('the reason of AbortSignal.timeout() is a TimeoutError and counts', async () => {
      // Waits for the abort event of a 0 ms timeout signal; no fixed sleep.
      const signal = AbortSignal.timeout(0);
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      const reason = signal.reason as DOMException;
      expect(reason.name).toBe('TimeoutError');
      expect(isInterrupted(reason)).toBe(true);
      expect(reason.name).toBe(timeoutError().name);
    });
  });

  describe('cause chains', () => {
    it('finds an interruption several causes deep', () => {
      const deep = new Error('a', {
        cause: new Error('b', { cause: new Error('c', { cause: abortError() }) }),
      });
      expect(isInterrupted(deep)).toBe(true);
    });

    it('a chain without one is false', () => {
      const chain = new Error('a', { cause: new Error('b', { cause: new Error('c') }) });
      expect(isInterrupted(chain)).toBe(false);
    });

    it('a cyclic chain without one terminates with false', () => {
      const a = new Error('a');
      const b = new Error('b', { cause: a });
      a.cause = b;
      expect(isInterrupted(a)).toBe(false);
    });

    it('a self-referencing error terminates with false', () => {
      const a = new Error('a');
      a.cause = a;
      expect(isInterrupted(a)).toBe(false);
    });

    it('a cyclic chain that contains one is true', () => {
      const a = new Error('a');
      const b = new Error('b', { cause: new WaitTimeoutError({ cause: a }) });
      a.cause = b;
      expect(isInterrupted(a)).toBe(true);
    });

    it('a cause that is a non-error value ends the walk', () => {
      expect(isInterrupted(new Error('a', { cause: 'AbortError' }))).toBe(false);
      expect(isInterrupted(new Error('a', { cause: 42 }))).toBe(false);
    });
  });

  describe('non-error values', () => {
    it.each<[string, unknown]>([
      ['a string', 'AbortError'],
      ['another string', 'timed out waiting for the condition'],
      ['a number', 0],
      ['true', true],
      ['a symbol', Symbol('AbortError')],
      ['a function', () => undefined],
      ['an empty object', {}],
    ])('%s is false', (_name, value) => {
      expect(isInterrupted(value)).toBe(false);
    });

    it('a plain Error whose message looks like a timeout is false (identity, not text)', () => {
      expect(isInterrupted(new Error('timed out waiting for the condition'))).toBe(false);
      expect(isInterrupted(new Error('AbortError'))).toBe(false);
      expect(isInterrupted(new Error('The operation was aborted'))).toBe(false);
    });

    it('a DOMException of another kind is false', () => {
      expect(isInterrupted(new DOMException('nope', 'NotFoundError'))).toBe(false);
      expect(isInterrupted(new DOMException('nope'))).toBe(false);
    });
  });
});
