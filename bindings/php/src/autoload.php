<?php

declare(strict_types=1);

// A PSR-4 autoloader for Spikard\ when the package is used without
// Composer (bin/spikard, the tests, the fixture app). With Composer,
// vendor/autoload.php does the same.
spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'Spikard\\') && !str_starts_with($class, 'Spikard\\Tests\\')) {
        $f = __DIR__ . '/' . str_replace('\\', '/', substr($class, 8)) . '.php';
        if (is_file($f)) {
            require $f;
        }
    }
});
