<?php

declare(strict_types=1);

namespace Spikard;

/**
 * `spikard serve`: long-running worker processes that each serve the app.
 *
 * The supervisor loads the app (the document is checked by PHP here, by
 * the library in each worker), forks the workers, and never loads
 * libspikard itself (a process that holds the Go runtime cannot fork). Each
 * worker loads the library, listens on host:port and answers requests until
 * SIGTERM/SIGINT; with several workers each listens with SO_REUSEPORT
 * (server.reuse_port in its document), so they share the port and the
 * kernel spreads new connections over them. A worker that dies (a fatal error, exit() in a handler, a
 * kill) is started again; its in-flight requests die with it, because the
 * worker owns its listener and its connections.
 *
 * Needs ext-pcntl and ext-posix for several workers, restarts and signals;
 * without them serve() runs one worker in the current process.
 */
final class Supervisor
{
    /** A worker's exit status when it cannot listen: it is not restarted. */
    public const EXIT_LISTEN = 3;

    private bool $stopping = false;

    /** Whether run() forks workers (ext-pcntl and ext-posix present). */
    private bool $forking = false;

    /** @var array<int, int> pid => worker number */
    private array $workers = [];

    /** @var array<int, float> worker number => start time */
    private array $started = [];

    /** @var array<int, int> worker number => quick deaths in a row */
    private array $quickDeaths = [];

    public function __construct(
        private readonly App $app,
        private readonly string $host = '127.0.0.1',
        private readonly int $port = 8000,
        private readonly int $workerCount = 1,
        private readonly int $maxRequests = 0,
        private readonly int $graceMs = 10000,
    ) {
    }

    /** Runs until SIGTERM/SIGINT; returns the process exit status. */
    public function run(): int
    {
        if ($this->workerCount > 1 && $this->port === 0) {
            self::log('spikard: several workers share one port: give a port other than 0');
            return 2;
        }
        if (!\function_exists('pcntl_fork') || !\function_exists('posix_kill')) {
            if ($this->workerCount > 1) {
                self::log('spikard: ext-pcntl/ext-posix missing: serving with one worker in this process');
            }
            return $this->worker(1);
        }
        $this->forking = true;
        pcntl_async_signals(true);
        $stop = function (int $sig): void {
            if (!$this->stopping) {
                self::log('spikard: stopping (signal ' . $sig . ')');
            }
            $this->stopping = true;
            foreach (array_keys($this->workers) as $pid) {
                posix_kill($pid, \SIGTERM);
            }
        };
        pcntl_signal(\SIGTERM, $stop, false); // no SA_RESTART: pcntl_wait returns on a signal
        pcntl_signal(\SIGINT, $stop, false);
        for ($i = 1; $i <= $this->workerCount; $i++) {
            $this->spawn($i);
        }
        $deadline = null;
        while ($this->workers !== []) {
            $pid = pcntl_wait($status, $this->stopping ? \WNOHANG : 0);
            if ($pid <= 0) {
                if ($this->stopping) {
                    $deadline ??= microtime(true) + $this->graceMs / 1000 + 2;
                    if (microtime(true) > $deadline) {
                        foreach (array_keys($this->workers) as $p) {
                            self::log("spikard: worker pid $p did not stop in time: killing it");
                            posix_kill($p, \SIGKILL);
                        }
                        $deadline = microtime(true) + 5;
                    }
                    usleep(20000);
                }
                continue;
            }
            $n = $this->workers[$pid] ?? null;
            unset($this->workers[$pid]);
            if ($n === null || $this->stopping) {
                continue;
            }
            $why = pcntl_wifsignaled($status) ? 'signal ' . pcntl_wtermsig($status) : 'exit ' . pcntl_wexitstatus($status);
            if (pcntl_wifexited($status) && pcntl_wexitstatus($status) === self::EXIT_LISTEN) {
                self::log("spikard: worker $n could not listen on {$this->host}:{$this->port} ($why); not restarting it");
                if ($this->workers === []) {
                    return 1;
                }
                continue;
            }
            $quick = microtime(true) - ($this->started[$n] ?? 0) < 1.0;
            $this->quickDeaths[$n] = $quick ? ($this->quickDeaths[$n] ?? 0) + 1 : 0;
            if ($this->quickDeaths[$n] >= 5) {
                self::log("spikard: worker $n died 5 times in a row right after starting ($why): giving up");
                $stop(\SIGTERM);
                continue;
            }
            self::log(pcntl_wifexited($status) && pcntl_wexitstatus($status) === 0
                ? "spikard: worker $n (pid $pid) ended (max requests): starting a new one"
                : "spikard: worker $n (pid $pid) died ($why): restarting it");
            if ($quick) {
                usleep(200000 * $this->quickDeaths[$n]);
            }
            if (!$this->stopping) {
                $this->spawn($n);
            }
        }
        self::log('spikard: stopped');
        return 0;
    }

    private function spawn(int $n): void
    {
        $pid = pcntl_fork();
        if ($pid < 0) {
            throw new SpikardException('Spikard: fork failed', 0);
        }
        if ($pid === 0) {
            pcntl_signal(\SIGTERM, \SIG_DFL);
            pcntl_signal(\SIGINT, \SIG_DFL);
            exit($this->worker($n));
        }
        $this->workers[$pid] = $n;
        $this->started[$n] = microtime(true);
    }

    /** One worker: serve until a signal; the exit status. */
    private function worker(int $n): int
    {
        try {
            $s = new Server($this->app);
            $s->stopOnSignals();
            // several workers share the port: each listens with SO_REUSEPORT
            $s->listen($this->host, $this->port, $this->workerCount > 1 && $this->forking);
        } catch (SpikardException $e) {
            self::log("spikard: worker $n: {$e->getMessage()}");
            return $e->getCode() === SpikardException::EIO ? self::EXIT_LISTEN : 1;
        }
        self::log("spikard: worker $n (pid " . getmypid() . ") listening on http://{$this->host}:{$s->port()}");
        $s->serve($this->maxRequests);
        return 0;
    }

    private static function log(string $line): void
    {
        fwrite(\STDERR, $line . "\n");
    }
}
