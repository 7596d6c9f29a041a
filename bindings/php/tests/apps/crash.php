<?php

declare(strict_types=1);

use Spikard\App;

$app = new App();
$app->get('/pid', fn () => ['pid' => getmypid()]);
$app->get('/fatal', function () {
    ini_set('memory_limit', '16M');
    $a = [];
    while (true) {
        $a[] = str_repeat('x', 1 << 20);
    }
});
$app->get('/exit', function () {
    exit(7);
});
$app->get('/kill', function () {
    posix_kill(getmypid(), SIGKILL);
    return ['unreachable' => true];
});
$app->get('/slow', function () {
    fwrite(STDERR, "slow started\n");
    usleep(300000);
    return ['slow' => 'done'];
});
return $app;
