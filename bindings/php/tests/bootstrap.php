<?php

declare(strict_types=1);

require dirname(__DIR__) . '/src/autoload.php';
spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'Spikard\\Tests\\')) {
        $f = __DIR__ . '/' . str_replace('\\', '/', substr($class, 14)) . '.php';
        if (is_file($f)) {
            require $f;
        }
    }
});
